#!/usr/bin/env bash
# Issue 17's GPU measurements in one go (about 7 minutes on one H100/H200; the timeouts below cap it at 9):
#   1. benchmarks/t5_attention_kernels.py: which SDPA kernel the encoder's self-attention gets inside the model
#      (cuDNN once the position bias is contiguous; before that fix, the fp32 math)
#   2. benchmarks/pairwise_scoring.py --size 3b: duoT5-3B-shaped scoring, today's path against the fast paths
#      (cuDNN's fused attention with T5's bias, compiled encoder and decoder; then that compiled model with
#      finer length buckets, i.e. less padding)
#   3. benchmarks/train_step.py: the Table 7 ColBERT step, today's fp32 path vs bf16 + micro-batches (then with
#      a compiled BERT as pdlib.train does on a GPU, and with fused AdamW too)
# Every number's MFU is against the bf16 matrix rate measured in the same process. Logs go to $OUT.
#
# Needs, beside the working tree (the device tool's `carry`): .whl (transformers 4.57.6, tokenizers 0.22.2,
# huggingface_hub 0.36.2: the machine's own transformers 5.x treats T5 differently) and
# data/bench/msmarco-dl19-mini (a copy of ../shared/data/msmarco-dl19-mini, for real prompt lengths).
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu17}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed: carry .whl"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD
DATA=data/bench/msmarco-dl19-mini
[ -f $DATA/corpus.jsonl ] || { echo "no $DATA: copy ../shared/data/msmarco-dl19-mini there and carry data/bench"; exit 1; }

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
  python3 -c "import sys, torch, transformers, tokenizers, huggingface_hub as h; print('python', sys.version.split()[0], \
'torch', torch.__version__, 'transformers', transformers.__version__, transformers.__file__, 'tokenizers', \
tokenizers.__version__, 'huggingface_hub', h.__version__)"
} 2>&1 | tee "$OUT/env.txt"

timeout 45 python3 benchmarks/t5_attention_kernels.py 2>&1 | tee "$OUT/attention_kernels.txt"
timeout 330 python3 benchmarks/pairwise_scoring.py --size 3b --pairs 4096 --batch-size 128 --shared $DATA \
  --variants today cudnn cudnn+both --also-buckets 8 4 2>&1 | tee "$OUT/pairwise_3b.txt"
timeout 150 python3 benchmarks/train_step.py --micro 8 16 --faster 16 2>&1 | tee "$OUT/train_step.txt"
echo "=== summary"
grep -h -E "^(device|default|as passed|fp32|bf16|best|today|fast|model|profile|  the same)" "$OUT"/env.txt \
  "$OUT"/attention_kernels.txt "$OUT"/pairwise_3b.txt \
  "$OUT"/train_step.txt
