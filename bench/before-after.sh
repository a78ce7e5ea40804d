#!/usr/bin/env bash
# Before/after of the optimisations on the perf branch, interleaved in one run (the same binary; the earlier code
# paths are kept behind switches): before = glibc malloc defaults, bf16 through the bf16 shadow model with the fused
# attention kernel; after = the defaults (NativeAllocator, bf16 autocast with matmul attention).
# Usage: bench/before-after.sh [threads] [steps]    (from the repository root after `dotnet build -c Release`; FACTTRACE=path overrides the binary)
set -euo pipefail
threads=${1:-1}
steps=${2:-10}
F=${FACTTRACE:-src/FactTrace.Cli/bin/Release/net10.0/linux-x64/facttrace}   # `dotnet build -c Release` first
cpu() { grep -E 'full step \(' | awk -F'│' '{gsub(/ /,"",$5); print $5}'; }
wall() { grep -E 'full step \(' | awk -F'│' '{gsub(/ /,"",$3); print $3}'; }
printf "%-12s %-5s %12s %12s %12s %12s %8s %s\n" model mode before_cpu after_cpu before_wall after_wall speedup load
for model in tiny-neox neox-6x256 pythia-14m pythia-70m tiny-llama; do
  for mode in fp32 bf16; do
    if [ $mode = fp32 ]; then bm=fp32; am=fp32; else bm=bf16-shadow; am=bf16; fi
    b=$(FACTTRACE_MALLOC=default $F bench step --model $model --vocab 2514 --threads $threads --steps $steps --full-only --attention fused --mode $bm)
    a=$($F bench step --model $model --vocab 2514 --threads $threads --steps $steps --full-only --mode $am)
    bc=$(echo "$b" | cpu); ac=$(echo "$a" | cpu); bw=$(echo "$b" | wall); aw=$(echo "$a" | wall)
    printf "%-12s %-5s %12s %12s %12s %12s %8.2f %s\n" $model $mode $bc $ac $bw $aw $(echo "$bc / $ac" | bc -l) "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
