package browsertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

// netnsEnv marks the re-executed test binary that runs inside the namespace.
const netnsEnv = "KVSRTC_BROWSERTEST_NETNS"

// TestMain runs the tests in a new network namespace with only loopback up.
// The parent re-executes this binary under `unshare --net` and exits with
// its status; the child brings lo up, checks that no other interface is
// there and runs the tests.
func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" {
		os.Exit(reexec())
	}
	if err := loopbackOnly(); err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: %v\n", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of http.Clients that outlive a test.
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func reexec() int {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest: unshare not found: install util-linux (the suite runs in a loopback-only network namespace)")
		return 1
	}
	cmd := exec.Command(unshare, append([]string{"--net", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if ee.ExitCode() >= 0 {
				return ee.ExitCode()
			}
		}
		fmt.Fprintf(os.Stderr, "browsertest: run the tests under unshare --net (needs root or CAP_SYS_ADMIN): %v\n", err)
		return 1
	}
	return 0
}

// loopbackOnly brings lo up and fails if any other interface exists.
func loopbackOnly() error {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %v: %s", err, out)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("interface %s in the test namespace: want loopback only", i.Name)
		}
		if i.Flags&net.FlagUp == 0 {
			return fmt.Errorf("interface %s is down", i.Name)
		}
	}
	return nil
}
