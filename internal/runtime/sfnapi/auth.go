package sfnapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Credentials are what the endpoint accepts: AWS Signature Version 4 with
// an access key id and secret (what the AWS SDKs and the AWS CLI send), or
// "Authorization: Bearer <Token>". A request with neither, with an unknown
// key or a wrong signature is refused with the 400 errors AWS gives
// (UnrecognizedClientException, InvalidSignatureException).
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Token           string
}

func (c Credentials) configured() bool {
	return (c.AccessKeyID != "" && c.SecretAccessKey != "") || c.Token != ""
}

// maxClockSkew is how far a request's X-Amz-Date may be from now (AWS
// allows 15 minutes).
const maxClockSkew = 15 * time.Minute

// authError is a refused request.
type authError struct{ code, msg string }

func unrecognized(msg string) *authError {
	return &authError{"UnrecognizedClientException", msg}
}

func badSignature(msg string) *authError {
	return &authError{"InvalidSignatureException", msg}
}

// authenticate checks a request's credentials; body is the request body
// (signed through its hash).
func (h *Handler) authenticate(r *http.Request, body []byte) *authError {
	c := h.creds
	if !c.configured() {
		return unrecognized("The Step Functions endpoint has no credentials configured (TURBOCAT_SFN_ACCESS_KEY_ID and TURBOCAT_SFN_SECRET_ACCESS_KEY, or TURBOCAT_SFN_TOKEN).")
	}
	authz := r.Header.Get("Authorization")
	switch {
	case authz == "":
		return unrecognized("Missing Authentication Token: sign the request with AWS Signature Version 4 or send Authorization: Bearer <token>.")
	case strings.HasPrefix(authz, "Bearer "):
		tok := strings.TrimPrefix(authz, "Bearer ")
		if c.Token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(c.Token)) != 1 {
			return unrecognized("The security token included in the request is invalid.")
		}
		return nil
	case strings.HasPrefix(authz, "AWS4-HMAC-SHA256 "):
		return h.verifySigV4(r, authz, body)
	}
	return unrecognized("The security token included in the request is invalid.")
}

// sigV4 is a parsed SigV4 Authorization header.
type sigV4 struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseSigV4(authz string) (*sigV4, bool) {
	s := &sigV4{}
	for _, part := range strings.Split(strings.TrimPrefix(authz, "AWS4-HMAC-SHA256 "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, false
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return nil, false
			}
			s.accessKey, s.date, s.region, s.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(v, ";")
		case "Signature":
			s.signature = v
		}
	}
	return s, s.accessKey != "" && len(s.signedHeaders) > 0 && s.signature != ""
}

func (h *Handler) verifySigV4(r *http.Request, authz string, body []byte) *authError {
	c := h.creds
	sig, ok := parseSigV4(authz)
	if !ok {
		return badSignature("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
	}
	if c.AccessKeyID == "" || subtle.ConstantTimeCompare([]byte(sig.accessKey), []byte(c.AccessKeyID)) != 1 {
		return unrecognized("The security token included in the request is invalid.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return badSignature("The request must carry a valid X-Amz-Date header.")
	}
	now := h.now()
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return badSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", amzDate,
			now.Add(-maxClockSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z")))
	}
	if sig.date != amzDate[:8] {
		return badSignature("Credential should be scoped to a valid date matching X-Amz-Date.")
	}
	signedHost := false
	for _, name := range sig.signedHeaders {
		if name == "host" {
			signedHost = true
		}
	}
	if !signedHost {
		return badSignature("'Host' must be a signed header.")
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" || payloadHash == "UNSIGNED-PAYLOAD" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	} else {
		sum := sha256.Sum256(body)
		if payloadHash != hex.EncodeToString(sum[:]) {
			return badSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	canonical := canonicalRequest(r, sig.signedHeaders, payloadHash)
	scope := strings.Join([]string{sig.date, sig.region, sig.service, "aws4_request"}, "/")
	crHash := sha256.Sum256([]byte(canonical))
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := hmacSHA256([]byte("AWS4"+c.SecretAccessKey), sig.date)
	key = hmacSHA256(key, sig.region)
	key = hmacSHA256(key, sig.service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig.signature)) != 1 {
		return badSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest builds SigV4's canonical request.
func canonicalRequest(r *http.Request, signed []string, payloadHash string) string {
	var b bytes.Buffer
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = []string{fmt.Sprint(r.ContentLength)}
	default:
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, sigEscape(k)+"="+sigEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// sigEscape is SigV4's URI encoding: everything but unreserved characters.
func sigEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
