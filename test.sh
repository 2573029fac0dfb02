#!/usr/bin/env bash
# test.sh is kvsrtc's one test command. On a fresh Debian 12 machine (root, Go
# and Node.js 20 on PATH) it installs what is missing, then vets and tests
# everything. Extra arguments go to `go test`, e.g. ./test.sh -run TestJS -v
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

section() { printf '\n==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go not found on PATH: install Go $(sed -n 's/^go //p' go.mod) or later"
command -v node >/dev/null || die "node not found on PATH: install Node.js 20 (Debian 12's nodejs is 18, too old)"
command -v npm >/dev/null || die "npm not found on PATH: install npm with Node.js 20"
# boto3 and the AWS CLI v1 (internal/pyrun) come with the machine image, not from PyPI.
python3 -c 'import boto3' 2>/dev/null || die "python3 with boto3 not found on PATH: install python3 and pip install boto3"
command -v aws >/dev/null || die "aws (the AWS CLI) not found on PATH: pip install awscli"

# apt_install installs the Debian packages that are not installed yet; it
# runs apt-get update at most once per run.
apt_updated=
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		echo "installed: $*"
		return 0
	fi
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "need root to install ${missing[*]}"
		sudo=(sudo)
	fi
	section "apt-get install ${missing[*]}"
	if [[ -z $apt_updated ]]; then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

section "Debian packages"
apt_install ffmpeg chromium libnss3-tools iproute2 util-linux

section "go mod download"
go mod download

section "npm packages (jstest)"
stamp=jstest/node_modules/.kvsrtc-npm-ci.stamp
if [[ ! -f $stamp || jstest/package-lock.json -nt $stamp || jstest/package.json -nt $stamp ]]; then
	(cd jstest && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error)
	touch "$stamp"
else
	echo "up to date"
fi

section "gofmt -l"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './jstest/*'))
[[ -z $unformatted ]] || die "gofmt would change: $unformatted (run gofmt -w)"
echo "formatted"

section "go vet ./..."
go vet ./...

# staticcheck at a pinned version, run from the module proxy (go.mod stays
# free of tool dependencies).
section "staticcheck ./..."
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

section "go test -race ./..."
go test -race -count=1 -timeout 20m ./... "$@"

# Bounded fuzzing of the decoders of outside input: each target runs for
# FUZZTIME (default 100000x, a few seconds on 2 cores), passed to -fuzztime
# as given: a count such as 1000x or a duration such as 30s. There is no skip
# value (go test refuses 0). The default is a count, not a duration: with a
# duration, Go's fuzzing coordinator before Go 1.27 may report its own
# deadline as a failure ("context deadline exceeded", no crasher) when a
# worker is mid-call as it passes (golang/go#75804; internal/fuzz/fuzz.go's
# stop compares with the workers' context before it is cancelled).
fuzztime=${FUZZTIME:-100000x}
fuzz() {
	local pkg=$1 target=$2
	section "go test -fuzz $target -fuzztime $fuzztime $pkg"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
}
fuzz ./wire/ FuzzDecodeClientMessage
fuzz ./wire/ FuzzDecodeServerMessage
fuzz ./emulator/internal/sigv4/ FuzzVerifyQuery
fuzz ./emulator/internal/mkv/ FuzzMergeChunks
