# Sourced by the generative models' benchmarks (gan.sh, flow.sh, diffusion.sh) from the project
# root: sets up the machine, builds `train` and `sample` for this CPU, and sets MNIST_DIR, work
# (.build/bench) and lenet, the LeNet model file that judges samples: $LENET, else one trained
# here for 5 epochs as $work/NAME-lenet.bin, NAME being the first argument.
scripts/setup.sh
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
export INFER_MARCH="${INFER_MARCH:-native}"
work=.build/bench
mkdir -p "$work"
for product in train sample; do swift build -c release --product "$product"; done
lenet="${LENET:-}"
if [ -z "$lenet" ]; then
    lenet="$work/$1-lenet.bin"
    .build/release/train --model lenet --epochs 5 --quiet --output "$lenet" > /dev/null
fi
