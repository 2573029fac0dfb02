// Package creds finds AWS credentials for kvsrtc on aws-sdk-go-v2.
//
// Use [Load] to build an aws.Config. Without a credentials URL it uses the AWS
// default chain: environment variables, shared config and credentials files
// (profiles, SSO, credential_process), then container and instance roles. With
// [Options.CredentialsURL] it asks the user's own backend instead, through a
// [URLProvider] wrapped in an aws.CredentialsCache that refreshes a few minutes
// before the credentials expire. [Result] carries the config plus the region and
// channel ARN when the backend supplied them.
//
// A credentials URL answers a GET with JSON in either of two shapes:
//
//	{"ak": "...", "sk": "...", "token": "...", "region": "us-west-2",
//	 "arn": "arn:aws:kinesisvideo:...", "expiration": "2025-01-02T15:04:05Z"}
//
//	{"AccessKeyId": "...", "SecretAccessKey": "...", "Token": "...",
//	 "Expiration": "2025-01-02T15:04:05Z"}
//
// The second is what ECS and EKS container-credential endpoints serve. The
// token, region, ARN and expiration are optional; an expiration may also be a
// number of epoch seconds or milliseconds. [ParseResponse] decodes a body into a
// [Response]. When the environment variable named by
// [Options.CredentialsURLAuthEnv] (KVSRTC_CREDENTIALS_AUTH by default) is set,
// its value is sent as the Authorization header.
//
// # AWS IoT certificate credentials
//
// With [Options.IoT], a device's X.509 certificate is exchanged for
// temporary credentials at the AWS IoT credentials provider through an
// [IoTProvider] (GET https://<endpoint>/role-aliases/<alias>/credentials over
// mutual TLS, x-amzn-iot-thingname header), cached and refreshed
// [Options.ExpiryWindow] before expiry like a credentials URL. The
// environment variables the C SDK's samples read are named by
// [EnvIoTEndpoint], [EnvIoTCert], [EnvIoTPrivateKey], [EnvIoTRoleAlias],
// [EnvIoTThingName] and [EnvIoTCACert]. Refusals are [*IoTError] values
// carrying the service's message and a hint ([IoTError.Hint]).
//
// # Secrets
//
// No secret key, session token or Authorization value appears in an error
// string or a log line from this package. [Response] and [URLProvider] print
// "****" for them through String, GoString and LogValue. A failed fetch reports
// the URL without its query or user info, the HTTP status, and a short body
// excerpt only when the body cannot be echoing credentials. Errors from the
// default chain's credential_process that would repeat the process's output
// are replaced with a message that does not.
//
// # Caveats
//
// The cache refreshes credentials when fewer than [DefaultExpiryWindow] (less up
// to a quarter, at random) remain. Credentials that live shorter than that are
// fetched again on every use, so a backend should hand out credentials that live
// well beyond five minutes, or the window should be shortened.
package creds
