#!/bin/sh
# gen.sh regenerates the embedded demo clips (run by `go generate ./media/`).
# Needs ffmpeg with libx264, libvpx and libopus (Debian: apt-get install ffmpeg).
# Output is not byte-identical across ffmpeg versions; the tests check
# structure (frame counts, keyframes, durations), not bytes.
set -eu
cd "$(dirname "$0")"

ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=640x480:rate=30 -t 5 \
  -c:v libx264 -profile:v baseline -level 3.1 -pix_fmt yuv420p -preset veryfast -g 30 -bf 0 \
  -x264-params repeat-headers=1 -bsf:v h264_mp4toannexb -f h264 demo.h264

ffmpeg -hide_banner -loglevel error -y -f lavfi -i sine=frequency=440:beep_factor=2:sample_rate=48000 -t 5 \
  -ac 2 -c:a libopus -b:a 48k -page_duration 20000 -f ogg demo.ogg

ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -t 5 \
  -c:v libvpx -b:v 200k -g 30 -deadline realtime -cpu-used 8 -f ivf demo.ivf
