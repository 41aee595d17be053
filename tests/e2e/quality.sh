#!/usr/bin/env bash
# End-to-end: measured quality. `--measure` figures, `--min-ssim` refusing an
# output (original intact, exit 1, retried with other settings), and the
# `--target-ssim` crf cached in the journal across a crash.
#   quality.sh REENCODE MKCLIP
. "$(dirname "$0")/lib.sh" quality "$@"

fast=(--cpu-used 8 --threads 2)
ssim_of() { sed -n "s/.*SSIM \([0-9.]*\) (lowest.*/\1/p" "$1"; }
lt() { python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"; }

"$mk" --duration 3 --pattern motion m.mp4 >/dev/null

# ---- --measure: a high crf measures clearly worse than a low one
"$re" encode "${fast[@]}" --measure --crf 10 m.mp4 -o hi.webm 2>hi.err
"$re" encode "${fast[@]}" --measure --crf 60 m.mp4 -o lo.webm 2>lo.err
check "--measure prints SSIM and PSNR" grep -q 'SSIM 0\.[0-9]* (lowest frame 0\.[0-9]*), PSNR' hi.err
check "crf 10 measures above 0.985" lt 0.985 "$(ssim_of hi.err)"
check "crf 60 measures below 0.975" lt "$(ssim_of lo.err)" 0.975
check "the figure is the whole-file comparison's" \
    test "$("$mk" --ssim m.mp4 lo.webm | cut -c1-6)" = "$(ssim_of lo.err)"

# ---- --min-ssim: not published, one line naming the SSIM and the bound
exits "$re" encode "${fast[@]}" --crf 60 --min-ssim 0.99 m.mp4 -o bad.webm 2>bad.err
check "below --min-ssim: exit 1" test $rc -eq 1
check "below --min-ssim: one line" one_line bad.err
check "below --min-ssim: names SSIM and bound" grep -q 'SSIM 0\.9[0-9]*.*below --min-ssim 0\.9900' bad.err
check "below --min-ssim: nothing written" test ! -e bad.webm -a ! -e bad.webm.part

# ---- in a batch: failed, original intact, retried with other settings
mkdir rec
cp m.mp4 rec/m.mp4
sum=$(md5sum <rec/m.mp4)
exits "$re" run "${fast[@]}" --no-progress --crf 60 --min-ssim 0.99 rec 2>run1.err
check "batch below --min-ssim: exit 1" test $rc -eq 1
check "batch below --min-ssim: reported" grep -q 'failed .*below --min-ssim' run1.err
check "batch below --min-ssim: original intact" test "$(md5sum <rec/m.mp4)" = "$sum"
check "batch below --min-ssim: no output" test ! -e rec/m.webm -a ! -e rec/m.webm.part
exits "$re" status --json rec >st1.json
check "status: failed with its SSIM" grep -q '"status":"failed".*"ssim":0\.9' st1.json
exits "$re" run "${fast[@]}" --no-progress --retry-failed --crf 20 --min-ssim 0.97 rec 2>run2.err
check "--retry-failed with a lower crf: done" test $rc -eq 0 -a -s rec/m.webm
check "done line shows the SSIM" grep -q 'done .*SSIM 0\.9' run2.err

# ---- --target-ssim: the crf is journalled the moment the search ends, so
# a crash in the encode after it costs no second search. A crash there is
# simulated exactly: the journal cut after that record (any prefix of a
# journal is a state a crash can leave), the output not there.
mkdir tgt
cp m.mp4 tgt/m.mp4
tgt=(run "${fast[@]}" --no-progress --originals keep --target-ssim 0.98 --json tgt)
"$re" "${tgt[@]}" >t1.json 2>t1.err
check "target: searched" grep -q '"tune_probes":[1-9]' t1.json
crf=$(sed -n 's/.*"tuned_crf":\([0-9]*\).*/\1/p' t1.json)
check "target: crf journalled before the encode" \
    grep -q '"state":"started".*"tuned_crf":'"$crf" tgt/.reencode/journal
cut_journal() { # keep the journal's first $1 lines; the output is not there
    head -n "$1" tgt/.reencode/journal >j.tmp && mv j.tmp tgt/.reencode/journal
    rm -f tgt/m.webm
}
line_of() { grep -n -- "$1" tgt/.reencode/journal | "$2" -1 | cut -d: -f1; }
cut_journal "$(line_of '"tuned_crf"' head)"
"$re" "${tgt[@]}" >t2.json 2>t2.err
check "resume: no probes" grep -q '"tuned_crf":'"$crf"',"tune_probes":0' t2.json
check "resume: output written" test -s tgt/m.webm
check "resume: said so in the log" bash -c "grep -q \"crf $crf (journalled)\" tgt/.reencode/reencode-*.log"
check "resume: the final output measured" grep -q '"ssim":0\.9[89]' t2.json
# A second crash, in the attempt that took the crf from the journal: its
# own "started" record carries the crf on.
cut_journal "$(line_of '"state":"started"' tail)"
check "the new attempt's started record carries the crf" \
    bash -c "tail -1 tgt/.reencode/journal | grep -q '\"tuned_crf\":$crf'"
"$re" "${tgt[@]}" >t3.json 2>t3.err
check "second resume: still no probes" grep -q '"tuned_crf":'"$crf"',"tune_probes":0' t3.json
# Another target is another search.
cut_journal "$(line_of '"tuned_crf"' head)"
"$re" run "${fast[@]}" --no-progress --originals keep --target-ssim 0.95 --json tgt >t4.json \
    2>t4.err
check "another target: searched again" grep -q '"tune_probes":[1-9]' t4.json

# A phone's portrait clip is encoded upright: it is measured as shown, not as
# stored (compared sideways it would measure far below 0.95).
"$mk" --duration 1 --size 160x96 --rotate 90 --pattern motion phone.mp4 >/dev/null
exits "$re" encode -q --min-ssim 0.95 phone.mp4 -o phone.webm
check "rotated: measured as shown, kept" test $rc -eq 0 -a -s phone.webm

finish
