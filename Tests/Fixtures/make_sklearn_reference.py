"""Writes small/sklearn_reference.json: scikit-learn's test figures on the small fixture sets, for
the Swift classic-model and kernel-machine tests to compare against.

Every set is read from small/NAME.csv (header row, features first, target last) with the fixed split
small/NAME.train.idx / small/NAME.test.idx (0-based data-row indices). Features are standardised
with the training rows' mean and population standard deviation (ddof=0); a feature whose training
standard deviation is 0 is divided by 1 instead. Regression targets are used as given.

Classification sets (iris, breast_cancer, wine) report test accuracy; the regression set (diabetes)
reports test mse and r2, plus coef_/intercept_ for linear, ridge and lasso (coefficients are for the
standardised features). Each model records its exact hyper-parameters, and any warnings scikit-learn
raised while fitting (for example ConvergenceWarning).

Usage: pip install scikit-learn numpy; python3 make_sklearn_reference.py
Writes small/sklearn_reference.json beside this script and prints a summary table.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Perceptron, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, LinearSVC

HERE = os.path.dirname(os.path.abspath(__file__))
# The data and its split live with the train command, which bundles them; the reference figures
# are written here, beside this script.
DATA = os.path.join(HERE, "..", "..", "Sources", "train", "Resources", "small")
SMALL = os.path.join(HERE, "small")
CLASSIFICATION = ["iris", "breast_cancer", "wine"]
REGRESSION = ["diabetes"]


def load(name):
    path = os.path.join(DATA, name + ".csv")
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    train = np.loadtxt(os.path.join(DATA, name + ".train.idx"), dtype=np.int64)
    test = np.loadtxt(os.path.join(DATA, name + ".test.idx"), dtype=np.int64)
    x, y = data[:, :-1], data[:, -1]
    if header[-1] == "label":
        y = y.astype(np.int64)
    x_train, x_test = x[train], x[test]
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0, ddof=0)
    std[std == 0] = 1.0
    return (x_train - mean) / std, y[train], (x_test - mean) / std, y[test], header


def load_float32(name):
    """The same split standardised as the Swift runtime does it: in float32, as x * (1/std) + (-mean/std)."""
    path = os.path.join(DATA, name + ".csv")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    train = np.loadtxt(os.path.join(DATA, name + ".train.idx"), dtype=np.int64)
    test = np.loadtxt(os.path.join(DATA, name + ".test.idx"), dtype=np.int64)
    x = data[:, :-1]
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0, ddof=0)
    std[std == 0] = 1.0
    scale = (1 / std).astype(np.float32)
    shift = (-mean / std).astype(np.float32)
    x32 = x.astype(np.float32)
    return x32[train] * scale + shift, x32[test] * scale + shift


def plain(value):
    """JSON-friendly copy of a hyper-parameter value."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return repr(value)


def params_of(model, drop=()):
    return {k: plain(v) for k, v in sorted(model.get_params().items()) if k not in drop}


def fit_quietly(model, x, y):
    """Fits, returning the messages of any warnings raised (kept in the JSON)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y)
    return sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught})


def laplace_kernel(a, b, sigma):
    d2 = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.exp(-np.sqrt(np.maximum(d2, 0.0)) / sigma)


def classification(name):
    x_train, y_train, x_test, y_test, header = load(name)
    n, d = x_train.shape
    classes = np.unique(y_train)
    binary = len(classes) == 2
    out = {}

    def record(key, model, extra=None, x_fit=x_train, x_eval=x_test, drop=()):
        warned = fit_quietly(model, x_fit, y_train)
        entry = {"accuracy": float(accuracy_score(y_test, model.predict(x_eval))),
                 "params": params_of(model, drop)}
        if hasattr(model, "n_support_"):
            entry["n_support"] = [int(v) for v in model.n_support_]
        if hasattr(model, "n_iter_"):
            entry["n_iter"] = plain(np.max(model.n_iter_))
        if extra:
            entry.update(extra)
        if warned:
            entry["warnings"] = warned
        out[key] = entry
        return model

    record("perceptron",
           Perceptron(max_iter=1000, tol=None, shuffle=False, eta0=1.0, random_state=0),
           {"scheme": "single binary perceptron" if binary else "one-vs-all (one perceptron per class)"})

    logistic_kind = ("binary logistic regression (one weight vector, sigmoid)" if binary
                     else "multinomial softmax regression")
    record("logistic", LogisticRegression(C=1.0, max_iter=5000, random_state=0),
           {"kind": logistic_kind,
            "objective": "0.5*||W||^2 + C * sum_i cross-entropy_i (intercept unpenalised)"})
    if binary:
        # scikit-learn >= 1.7 has no multi_class option: a 2-class problem is always fitted as a
        # binary logistic regression. A 2-class softmax with L2 on both weight rows, at C, has the
        # same decision function as binary logistic regression at 2C (the optimum has w1 = -w0 =
        # w/2, so the penalty 0.5*(|w1|^2+|w0|^2) = 0.25*|w|^2). "softmax" is therefore that fit.
        record("softmax", LogisticRegression(C=2.0, max_iter=5000, random_state=0),
               {"kind": "2-class multinomial softmax at C=1.0, fitted as the equivalent binary "
                        "logistic regression at C=2.0 (scikit-learn has no 2-class multinomial)",
                "softmax_C": 1.0})
    else:
        record("softmax", LogisticRegression(C=1.0, max_iter=5000, random_state=0),
               {"kind": "multinomial softmax regression (identical to \"logistic\" here)"})

    record("linear_svm",
           LinearSVC(C=1.0, loss="hinge", max_iter=100000, dual=True, random_state=0),
           {"scheme": "single binary SVM" if binary else "one-vs-rest (liblinear)",
            "objective": "0.5*||w||^2 + C * sum_i hinge_i; intercept is a feature with "
                         "intercept_scaling=1, so it is penalised too"})
    record("svm_linear", SVC(kernel="linear", C=1.0, random_state=0),
           {"scheme": "one-vs-one (libsvm)"})

    gamma = 1.0 / (d * x_train.var())
    record("svm_rbf", SVC(kernel="rbf", C=1.0, gamma="scale", random_state=0),
           {"gamma_used": float(gamma), "sigma": float(1.0 / gamma),
            "kernel": "exp(-gamma*||x-z||^2) = exp(-||x-z||^2/sigma), gamma = "
                      "1/(n_features*X_train.var())"})
    record("svm_poly", SVC(kernel="poly", degree=3, C=1.0, gamma=1.0, coef0=1.0, random_state=0),
           {"kernel": "(<x,z> + 1)^3"})

    sigma = float(np.sqrt(d))
    record("svm_laplace", SVC(kernel="precomputed", C=1.0, random_state=0),
           {"kernel": "exp(-||x-z||_2/sigma), sigma = sqrt(n_features), precomputed in NumPy",
            "sigma": sigma},
           x_fit=laplace_kernel(x_train, x_train, sigma),
           x_eval=laplace_kernel(x_test, x_train, sigma))

    for key, k, metric in [("knn3_l2", 3, "euclidean"), ("knn5_l2", 5, "euclidean"),
                           ("knn5_l1", 5, "manhattan"), ("knn5_linf", 5, "chebyshev"),
                           ("knn5_cosine", 5, "cosine")]:
        record(key, KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric=metric))
        # Exact distance ties (common in iris, whose values have one decimal) fall differently in
        # float32, so the same model on the float32 features the Swift code sees is recorded too.
        x32_train, x32_test = load_float32(name)
        model32 = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric=metric).fit(x32_train, y_train)
        out[key]["accuracy_float32"] = float(accuracy_score(y_test, model32.predict(x32_test)))

    cov = np.cov(x_train, rowvar=False, ddof=1)
    rank = int(np.linalg.matrix_rank(cov))
    singular = rank < d
    vi = np.linalg.pinv(cov) if singular else np.linalg.inv(cov)
    vi_text = ("pinv" if singular else "inv") + "(np.cov(X_train, rowvar=False, ddof=1))"
    record("knn5_mahalanobis",
           KNeighborsClassifier(n_neighbors=5, algorithm="brute", metric="mahalanobis",
                                metric_params={"VI": vi}),
           {"VI": vi_text, "used_pinv": singular, "covariance_rank": rank,
            "covariance_condition_number": float(np.linalg.cond(cov))},
           drop=("metric_params",))
    out["knn5_mahalanobis"]["params"]["metric_params"] = {"VI": vi_text}

    info = {"n_train": int(n), "n_test": int(len(y_test)), "n_features": int(d),
            "classes": [int(c) for c in classes], "task": "classification"}
    return info, out


def regression(name):
    x_train, y_train, x_test, y_test, header = load(name)
    n, d = x_train.shape
    out = {}

    def record(key, model, extra=None, coefficients=False):
        warned = fit_quietly(model, x_train, y_train)
        pred = model.predict(x_test)
        entry = {"mse": float(mean_squared_error(y_test, pred)),
                 "r2": float(r2_score(y_test, pred)),
                 "params": params_of(model)}
        if coefficients:
            entry["coef"] = [float(v) for v in np.ravel(model.coef_)]
            entry["intercept"] = float(model.intercept_)
        if hasattr(model, "n_iter_"):
            entry["n_iter"] = plain(np.max(model.n_iter_))
        if extra:
            entry.update(extra)
        if warned:
            entry["warnings"] = warned
        out[key] = entry

    record("linear", LinearRegression(), {"objective": "||y - Xw - b||^2"}, coefficients=True)
    record("ridge", Ridge(alpha=1.0, random_state=0),
           {"objective": "||y - Xw - b||^2 + alpha*||w||^2 (intercept unpenalised)",
            "mean_squared_form": "(1/n)||y - Xw - b||^2 + lambda*||w||^2 with lambda = alpha/n",
            "lambda": 1.0 / n},
           coefficients=True)
    record("lasso", Lasso(alpha=0.1, random_state=0),
           {"objective": "(1/(2n))||y - Xw - b||^2 + alpha*||w||_1 (intercept unpenalised); "
                         "coordinate descent stopped at tol=1e-4 (duality gap), so compare "
                         "coefficients with a tolerance"},
           coefficients=True)
    record("knn5", KNeighborsRegressor(n_neighbors=5))
    record("kernel_ridge_rbf", KernelRidge(alpha=1.0, kernel="rbf", gamma=1.0 / d),
           {"objective": "||y - K a||^2 + alpha * a^T K a, no intercept (targets not centred)",
            "kernel": "exp(-gamma*||x-z||^2), gamma = 1/n_features"})

    info = {"n_train": int(n), "n_test": int(len(y_test)), "n_features": int(d),
            "task": "regression", "target_mean_train": float(y_train.mean())}
    return info, out


def main():
    result = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
              "preprocessing": "features standardised with training-row mean and population std "
                               "(ddof=0), std 0 -> 1; regression targets as given"}
    datasets = {}
    for name in CLASSIFICATION:
        info, models = classification(name)
        result[name] = models
        datasets[name] = info
    for name in REGRESSION:
        info, models = regression(name)
        result[name] = models
        datasets[name] = info
    result["datasets"] = datasets

    path = os.path.join(SMALL, "sklearn_reference.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")

    print(f"scikit-learn {sklearn.__version__}; wrote {path}")
    names = list(result[CLASSIFICATION[0]].keys())
    print(f"{'model':18}" + "".join(f"{n:>15}" for n in CLASSIFICATION))
    for m in names:
        cells = []
        for n in CLASSIFICATION:
            e = result[n][m]
            cells.append(f"{e['accuracy']:.4f}" + ("*" if "warnings" in e else " "))
        print(f"{m:18}" + "".join(f"{c:>15}" for c in cells))
    print("(* = scikit-learn warned while fitting)")
    print(f"\n{'diabetes':18}{'mse':>12}{'r2':>10}")
    for m, e in result["diabetes"].items():
        print(f"{m:18}{e['mse']:12.3f}{e['r2']:10.4f}" + (" *" if "warnings" in e else ""))


if __name__ == "__main__":
    main()
