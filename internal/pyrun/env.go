package pyrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Env is everything a Python client learns about its surroundings.
type Env struct {
	// Endpoint is the URL the client sends to, such as https://127.0.0.1:4566:
	// boto3's endpoint_url (through the prelude's client) and the CLI's
	// --endpoint-url. It may be empty only when Environ sets an
	// AWS_ENDPOINT_URL variable, so nothing is ever sent to AWS.
	Endpoint string
	// Region is the signing region, such as us-west-2. Required.
	Region string
	// AccessKeyID and SecretAccessKey sign the request. Required.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is sent as X-Amz-Security-Token when set.
	SessionToken string
	// CABundle is a PEM file of CAs to trust (AWS_CA_BUNDLE). Empty means
	// botocore's default bundle.
	CABundle string
	// MaxAttempts is AWS_MAX_ATTEMPTS (standard retry mode); 0 means 1, no
	// retries.
	MaxAttempts int
	// Environ holds extra KEY=value entries added last, such as
	// AWS_ENDPOINT_URL_KINESIS_VIDEO=https://127.0.0.1:4566 to test
	// botocore's own endpoint variables.
	Environ []string
}

// dropped reports whether the parent's variable name must not reach the
// child: anything that could change what botocore sends or trusts.
func dropped(name string) bool {
	switch strings.ToUpper(name) {
	case "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "PYTHONPATH", "PYTHONSTARTUP":
		return true
	}
	return strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "KVSRTC_PY_") || strings.HasPrefix(name, "BOTO_")
}

// environ builds the child's environment: the parent's without anything
// that could change what the client does, plus e.
func (e Env) environ() ([]string, error) {
	endpointVar := false
	for i, kv := range e.Environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			// Not echoed: it may hold a secret.
			return nil, fmt.Errorf("env: Environ[%d] is not KEY=value", i)
		}
		if strings.HasPrefix(name, "AWS_ENDPOINT_URL") {
			endpointVar = true
		}
	}
	switch {
	case e.Endpoint == "" && !endpointVar:
		return nil, errors.New("env: Endpoint is empty and Environ sets no AWS_ENDPOINT_URL variable")
	case e.Region == "":
		return nil, errors.New("env: Region is empty")
	case e.AccessKeyID == "" || e.SecretAccessKey == "":
		return nil, errors.New("env: AccessKeyID or SecretAccessKey is empty")
	case e.MaxAttempts < 0:
		return nil, fmt.Errorf("env: MaxAttempts is %d, want 0 or more", e.MaxAttempts)
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !dropped(name) {
			out = append(out, kv)
		}
	}
	attempts := max(e.MaxAttempts, 1)
	out = append(out,
		"AWS_REGION="+e.Region,
		"AWS_DEFAULT_REGION="+e.Region,
		"AWS_ACCESS_KEY_ID="+e.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+e.SecretAccessKey,
		// No ~/.aws files and no instance metadata: nothing else may change
		// the request or supply credentials.
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS="+strconv.Itoa(attempts),
		"AWS_PAGER=",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONUNBUFFERED=1",
	)
	if e.SessionToken != "" {
		out = append(out, "AWS_SESSION_TOKEN="+e.SessionToken)
	}
	if e.Endpoint != "" {
		out = append(out, "KVSRTC_PY_ENDPOINT="+e.Endpoint)
	}
	if e.CABundle != "" {
		// botocore fails late and vaguely on a missing bundle; check here.
		p, err := filepath.Abs(e.CABundle)
		if err != nil {
			return nil, fmt.Errorf("env: CABundle: %w", err)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("env: CABundle: %w", err)
		}
		out = append(out, "AWS_CA_BUNDLE="+p)
	}
	return append(out, e.Environ...), nil
}
