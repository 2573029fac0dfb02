package creds

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestLoadDefaultChain(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		config string // shared config file contents
		opts   Options
		region string
		akid   string
		errHas string
		errIs  error
	}{
		{"environment", map[string]string{"AWS_ACCESS_KEY_ID": testAK, "AWS_SECRET_ACCESS_KEY": testSK, "AWS_SESSION_TOKEN": testToken, "AWS_REGION": "us-east-2"},
			"", Options{}, "us-east-2", testAK, "", nil},
		{"region option beats environment", map[string]string{"AWS_ACCESS_KEY_ID": testAK, "AWS_SECRET_ACCESS_KEY": testSK, "AWS_REGION": "us-east-2"},
			"", Options{Region: "cn-north-1"}, "cn-north-1", testAK, "", nil},
		{"profile", nil,
			"[profile cam]\nregion = ap-northeast-1\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = " + testSK + "\n",
			Options{Profile: "cam"}, "ap-northeast-1", "AKIDPROFILE", "", nil},
		{"credential_process printing non-JSON", nil,
			"[profile proc]\ncredential_process = echo not-json " + testSK + " " + testToken + "\n",
			Options{Profile: "proc"}, "", "", "credential_process printed output that is not valid credentials JSON", ErrProcessOutput},
		{"credential_process with missing key", nil,
			"[profile proc]\ncredential_process = echo '{\"Version\":1,\"AccessKeyId\":\"a\"}'\n",
			Options{Profile: "proc"}, "", "", "missing SecretAccessKey in process output", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.config != "" {
				if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Load(context.Background(), tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if res.URLProvider != nil || res.ChannelARN != "" {
				t.Errorf("URLProvider %v, ChannelARN %q without a credentials URL", res.URLProvider, res.ChannelARN)
			}
			if res.Region != tt.region {
				t.Errorf("Region = %q, want %q", res.Region, tt.region)
			}
			if aws.IsCredentialsProvider(res.Config.Credentials, (*aws.AnonymousCredentials)(nil)) {
				t.Error("chain looks anonymous")
			}
			c, err := res.Config.Credentials.Retrieve(context.Background())
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Retrieve error %v, want one containing %q", err, tt.errHas)
				}
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Errorf("error %v does not match %v", err, tt.errIs)
				}
				assertNoSecrets(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if c.AccessKeyID != tt.akid || c.SecretAccessKey != testSK {
				t.Errorf("credentials %s, want %s", c.AccessKeyID, tt.akid)
			}
		})
	}
}
