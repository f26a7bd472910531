# Device run r13: do the worker pools' size change the workers' CPU per frame (16 spp, K = 2)?
source /root/stage/unpack.sh
D=$OUT/r13; mkdir -p $D
nproc > $D/nproc.txt; lscpu > $D/lscpu.txt 2>&1
i=0
for w in 7 2 7 2 4; do
  i=$((i+1))
  $SDG_PY -m headless.bench presets/bench30.toml --device cuda --gpus 1 --no-bare --frames 240 --samples 16 --procs 2 --workers $w --json $D/w$w-16spp-$i.json > $D/w$w-16spp-$i.log 2>&1
  echo "w$w $i $(date -u +%T)"
done
# What each process burns during a run (CUDA waits spin?): a snapshot mid-run.
$SDG_PY -m headless.bench presets/bench30.toml --device cuda --gpus 1 --no-bare --frames 480 --samples 16 --procs 2 --json $D/ps-run.json > $D/ps-run.log 2>&1 &
sleep 14; top -b -n 1 -w 200 | head -40 > $D/top.txt; ps -eLo pid,tid,pcpu,comm --sort=-pcpu | head -40 > $D/ps-threads.txt
wait
cd $OUT && tar czf r13.tgz r13 && rm -rf r13
