# shellcheck shell=bash
# Sourced by the benchmarks: the reference to beat, the original tool's ffmpeg
# command line, one file per process:
#   ffmpeg -i IN -c:v libaom-av1 -usage realtime -crf 32 -lag-in-frames 32
#     -aom-params cpu-used=5:<ref_aom_params> -c:a libopus -application voip
#     -b:a 32k -metadata title=<input name> -metadata artist= OUT.webm
# It leaves the keyframes to libaom: one per file.

ref_aom_params="row-mt=1:tune-content=screen:deltaq-mode=0:enable-chroma-deltaq=1:enable-qm=1:quant-b-adapt=1:sharpness=3:arnr-strength=1:arnr-maxframes=4:disable-trellis-quant=0"

# ref_command IN OUT TITLE [EXTRA...]: that command line into the array
# ref_cmd, quiet and never asking; EXTRA (e.g. -force_key_frames ...) goes
# before the output.
ref_command() {
    local in=$1 out=$2 title=$3
    shift 3
    ref_cmd=(ffmpeg -nostdin -loglevel error -y -i "$in"
             -c:v libaom-av1 -usage realtime -crf 32 -lag-in-frames 32
             -aom-params "cpu-used=5:$ref_aom_params"
             -c:a libopus -application voip -b:a 32k
             -metadata title="$title" -metadata artist= "$@" "$out")
}
