package creds

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// DefaultAuthEnv names the environment variable whose value, when set, is sent
// as the Authorization header to a credentials URL.
const DefaultAuthEnv = "KVSRTC_CREDENTIALS_AUTH"

// DefaultExpiryWindow is how long before expiry cached credentials from a
// credentials URL are fetched again (less up to ExpiryJitter of it, at random,
// so that many clients do not refresh together).
const DefaultExpiryWindow = 5 * time.Minute

// ExpiryJitter is the fraction of the expiry window that is randomised.
const ExpiryJitter = 0.25

// caBundleEnv is the AWS variable naming a PEM file of extra trusted CAs.
const caBundleEnv = "AWS_CA_BUNDLE"

// Options configure [Load]. The zero value loads the AWS default chain.
type Options struct {
	// Region overrides every other source of the region.
	Region string
	// Profile selects a shared config profile (like AWS_PROFILE).
	Profile string
	// CABundle is a PEM file of extra CAs to trust, for AWS endpoints and the
	// credentials URL. Default: $AWS_CA_BUNDLE. Cannot be combined with
	// HTTPClient.
	CABundle string
	// CredentialsURL, if set, replaces the default chain with a [URLProvider].
	CredentialsURL string
	// IoT, if set, replaces the default chain with an [IoTProvider]
	// (device certificate → temporary credentials). Cannot be combined
	// with CredentialsURL. Its HTTP client is its own (mutual TLS); when
	// its CAFile and RootCAs are empty it trusts CABundle as well as the
	// system roots.
	IoT *IoTProviderOptions
	// CredentialsURLAuthEnv names the environment variable holding the
	// Authorization header value for CredentialsURL. Default DefaultAuthEnv.
	CredentialsURLAuthEnv string
	// ExpiryWindow is how long before expiry credentials from CredentialsURL
	// are refreshed. Default DefaultExpiryWindow.
	ExpiryWindow time.Duration
	// HTTPClient is used by the SDK and for CredentialsURL. Default: an
	// aws-sdk-go-v2 BuildableClient.
	HTTPClient aws.HTTPClient
	// Logger receives this package's and the SDK's log lines, under
	// component=creds and component=aws-sdk. Default: discard.
	Logger *slog.Logger
}

// Result is what [Load] found.
type Result struct {
	// Config is ready for the SDK's service clients.
	Config aws.Config
	// Region is Config.Region: Options.Region, else the credentials URL's
	// region, else the default chain's (AWS_REGION, profile); may be empty.
	Region string
	// ChannelARN is the channel ARN the credentials URL sent, or "".
	ChannelARN string
	// URLProvider is the credentials URL provider, or nil without one. Its
	// Region and ChannelARN follow the latest refresh.
	URLProvider *URLProvider
	// IoTProvider is the IoT credentials provider, or nil without one.
	IoTProvider *IoTProvider
}

// Load builds an aws.Config. With Options.CredentialsURL it fetches
// credentials once before returning, so that a broken URL fails here and the
// region and channel ARN it supplies are in the Result; the credentials are
// then cached and refreshed DefaultExpiryWindow before they expire. Without
// it, credentials come from the AWS default chain, lazily, on first use.
// optFns change a copy of opts.
func Load(ctx context.Context, opts Options, optFns ...func(*Options)) (Result, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.CredentialsURLAuthEnv == "" {
		opts.CredentialsURLAuthEnv = DefaultAuthEnv
	}
	if opts.ExpiryWindow <= 0 {
		opts.ExpiryWindow = DefaultExpiryWindow
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := httpClient(opts)
	if err != nil {
		return Result{}, err
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithLogger(sdkLogger(opts.Logger.With("component", "aws-sdk"))),
	}
	// A caller's own client decides what it trusts. Handed to the SDK, it
	// would make LoadDefaultConfig fail whenever AWS_CA_BUNDLE is set ("unable
	// to add custom RootCAs", config's resolveCustomCABundle: only its own
	// BuildableClient can take a bundle), so it goes in after loading.
	_, buildable := client.(*awshttp.BuildableClient)
	if client != nil && (buildable || opts.HTTPClient == nil) {
		loadOpts = append(loadOpts, config.WithHTTPClient(client))
	}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(opts.Profile))
	}
	var up *URLProvider
	var iot *IoTProvider
	if opts.IoT != nil {
		if opts.CredentialsURL != "" {
			return Result{}, errors.New("IoT credentials and a credentials URL are both set: use one")
		}
		if iot, err = newIoTForLoad(opts); err != nil {
			return Result{}, err
		}
		loadOpts = append(loadOpts, config.WithCredentialsProvider(cacheFor(iot, opts)))
	}
	if opts.CredentialsURL != "" {
		up, err = NewURLProvider(URLProviderOptions{
			URL:                 opts.CredentialsURL,
			Authorization:       os.Getenv(opts.CredentialsURLAuthEnv),
			AuthorizationSource: "$" + opts.CredentialsURLAuthEnv,
			HTTPClient:          client,
			Logger:              opts.Logger,
		})
		if err != nil {
			return Result{}, err
		}
		loadOpts = append(loadOpts, config.WithCredentialsProvider(cacheFor(up, opts)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return Result{}, fmt.Errorf("load AWS config: %w", err)
	}
	if client != nil {
		cfg.HTTPClient = client
	}
	res := Result{URLProvider: up, IoTProvider: iot}
	if iot != nil {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			var ie *IoTError
			if errors.As(err, &ie) {
				err = ie
			}
			return Result{}, fmt.Errorf("get IoT credentials: %w", err)
		}
	} else if up != nil {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			// The cache prefixes "failed to refresh cached credentials";
			// the URLError alone says more.
			var ue *URLError
			if errors.As(err, &ue) {
				err = ue
			}
			return Result{}, fmt.Errorf("get credentials: %w", err)
		}
		res.ChannelARN = up.ChannelARN()
		if opts.Region == "" && up.Region() != "" {
			cfg.Region = up.Region()
		}
	} else if cfg.Credentials != nil {
		cfg.Credentials = &chainProvider{p: cfg.Credentials}
	}
	res.Config, res.Region = cfg, cfg.Region
	return res, nil
}

// cacheFor wraps p in the cache that refreshes ExpiryWindow (less up to
// ExpiryJitter of it) before expiry.
func cacheFor(p aws.CredentialsProvider, opts Options) *aws.CredentialsCache {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = opts.ExpiryWindow
		o.ExpiryWindowJitterFrac = ExpiryJitter
	})
}

// newIoTForLoad builds the IoT provider for Load: its logger, and the CA
// bundle as a trust default.
func newIoTForLoad(opts Options) (*IoTProvider, error) {
	io := *opts.IoT
	if io.Logger == nil {
		io.Logger = opts.Logger
	}
	if io.CAFile == "" && io.RootCAs == nil {
		bundle := opts.CABundle
		if bundle == "" {
			bundle = os.Getenv(caBundleEnv)
		}
		if bundle != "" {
			pem, err := os.ReadFile(bundle)
			if err != nil {
				return nil, fmt.Errorf("read CA bundle: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", bundle)
			}
			io.RootCAs = pool
		}
	}
	return NewIoTProvider(io)
}

// httpClient gives the client for the SDK and the credentials URL: the
// caller's, or one that trusts the CA bundle as well as the system roots, or
// nil to let the SDK build its own.
func httpClient(opts Options) (aws.HTTPClient, error) {
	bundle := opts.CABundle
	if opts.HTTPClient != nil {
		if bundle != "" {
			return nil, errors.New("CA bundle and HTTP client are both set: add the CAs to the client's transport instead")
		}
		return opts.HTTPClient, nil
	}
	if bundle == "" {
		bundle = os.Getenv(caBundleEnv)
	}
	if bundle == "" {
		if opts.CredentialsURL == "" {
			return nil, nil
		}
		return awshttp.NewBuildableClient(), nil
	}
	pem, err := os.ReadFile(bundle)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", bundle)
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		useBundle(tr, pool) // the bundle, then the system roots
	}), nil
}

// sdkLogger forwards the SDK's log lines to l: warnings as Warn, the rest as
// Debug. The SDK logs nothing secret unless a ClientLogMode asks it to, and
// Load sets none.
func sdkLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		l.Log(context.Background(), level, fmt.Sprintf(format, v...))
	})
}
