#ifndef INFER_COPENBLAS_SHIM_H
#define INFER_COPENBLAS_SHIM_H
#include <cblas.h>

/* LAPACK routines from OpenBLAS's bundled LAPACK (Fortran calling convention: every argument by
 * pointer, column-major matrices). Debian's libopenblas-dev ships the symbols but no LAPACK
 * header, so the few used here are declared directly. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork,
             int *iwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
#endif
