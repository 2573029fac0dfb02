package creds

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

// ErrProcessOutput replaces an SDK error that would repeat a credential_process
// program's output, which may hold a secret key.
var ErrProcessOutput = errors.New("credential_process printed output that is not valid credentials JSON (not shown: it may contain secrets); run the command by hand to see it")

// chainProvider wraps the default chain so that its errors carry no secrets.
// aws-sdk-go-v2's processcreds puts the process's whole output into the error
// when it does not parse.
type chainProvider struct {
	p aws.CredentialsProvider
}

// Retrieve gets credentials from the wrapped chain.
func (c *chainProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	v, err := c.p.Retrieve(ctx)
	if err != nil {
		return v, safeChainError(err)
	}
	return v, nil
}

// IsCredentialsProvider lets aws.IsCredentialsProvider see the wrapped chain.
func (c *chainProvider) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(c.p, target)
}

// ProviderSources reports the wrapped chain's sources.
func (c *chainProvider) ProviderSources() []aws.CredentialSource {
	if s, ok := c.p.(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return nil
}

// Invalidate drops cached credentials, if the wrapped chain caches.
func (c *chainProvider) Invalidate() {
	if i, ok := c.p.(interface{ Invalidate() }); ok {
		i.Invalidate()
	}
}

func safeChainError(err error) error {
	var pe *processcreds.ProviderError
	// Only this message quotes the output; it starts the error text, ahead
	// of the output, so a secret cannot forge or hide it.
	if errors.As(err, &pe) && pe.Err != nil && strings.HasPrefix(pe.Err.Error(), "parse failed of process output") {
		return ErrProcessOutput
	}
	return err
}
