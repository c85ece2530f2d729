package stacks_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/stacks"
)

// Managed CloudFront policy ids (the same in every account).
const (
	cachingDisabledID             = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHostHeaderID   = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
	cloudFrontServicePrincipal    = "cloudfront.amazonaws.com"
	oneYearSeconds                = 365 * 24 * 3600
	bucketDeploymentResourceType  = "Custom::CDKBucketDeployment"
	consoleFunctionResourceType   = "AWS::CloudFront::Function"
	consoleDistributionResourceTy = "AWS::CloudFront::Distribution"
)

func TestConsoleBuilt(t *testing.T) {
	t.Parallel()
	built := fakeConsole(t)
	empty := t.TempDir()
	dirIndex := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dirIndex, "index.html"), 0o755))
	for _, tc := range []struct {
		name string
		dir  string
		want bool
	}{
		{"built", built, true},
		{"empty directory", empty, false},
		{"absent directory", filepath.Join(empty, "out"), false},
		{"index.html is a directory", dirIndex, false},
		{"no directory given", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, stacks.ConsoleBuilt(tc.dir))
		})
	}
}

func TestConsoleStackIsLeftOutWithAnInfoLineWhenNotBuilt(t *testing.T) {
	t.Parallel()
	fx := externalApp(t)
	require.NotContains(t, fx.stackOrder, fx.cfg.Name("console"))
	require.Len(t, fx.consoleInfo, 1, "one info line")
	require.Contains(t, fx.consoleInfo[0], "/"+fx.cfg.Name("api")+": ", "on the api stack")
	require.Contains(t, fx.consoleInfo[0], fx.cfg.Name("console"))

	built := auroraApp(t)
	require.Empty(t, built.consoleInfo, "nothing to say when the console is built")
	require.Equal(t, built.cfg.Name("console"), built.stackOrder[len(built.stackOrder)-1], "the console stack is deployed last")
	require.Contains(t, built.deps[built.cfg.Name("console")], built.cfg.Name("functions"), "the console goes live once the API's routes exist")
}

func TestConsoleBucketIsPrivateAndReadOnlyByTheDistribution(t *testing.T) {
	t.Parallel()
	fx := auroraApp(t)
	tpl := fx.tpl(t, "console")
	buckets := tpl.Resources("AWS::S3::Bucket")
	require.Len(t, buckets, 1)
	b := buckets[0]
	require.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}, b.Properties["PublicAccessBlockConfiguration"])
	require.Nil(t, b.Properties["WebsiteConfiguration"], "no public website endpoint")
	require.Equal(t, "Retain", tpl.JSON["Resources"].(map[string]any)[b.ID].(map[string]any)["DeletionPolicy"], "prod keeps the bucket")

	oacs := tpl.Resources("AWS::CloudFront::OriginAccessControl")
	require.Len(t, oacs, 1)
	cfg := oacs[0].Properties["OriginAccessControlConfig"].(map[string]any)
	require.Equal(t, "s3", cfg["OriginAccessControlOriginType"])
	require.Equal(t, "always", cfg["SigningBehavior"])

	var readers []string
	for _, p := range tpl.Resources("AWS::S3::BucketPolicy") {
		doc := p.Properties["PolicyDocument"].(map[string]any)
		for _, raw := range doc["Statement"].([]any) {
			st := raw.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			principal, _ := json.Marshal(st["Principal"])
			require.Contains(t, string(principal), cloudFrontServicePrincipal, "only CloudFront is allowed in")
			cond, _ := json.Marshal(st["Condition"])
			require.Contains(t, string(cond), "AWS:SourceArn", "only this distribution")
			readers = append(readers, list(st["Action"])...)
		}
	}
	require.ElementsMatch(t, []string{"s3:GetObject", "s3:ListBucket"}, readers, "read, and list so a missing file is a 404")
}

func TestConsoleDistributionBehaviours(t *testing.T) {
	t.Parallel()
	fx := auroraApp(t)
	tpl := fx.tpl(t, "console")
	dists := tpl.Resources(consoleDistributionResourceTy)
	require.Len(t, dists, 1)
	dc := dists[0].Properties["DistributionConfig"].(map[string]any)
	require.Equal(t, "index.html", dc["DefaultRootObject"])
	require.Equal(t, []any{map[string]any{"ErrorCode": float64(404), "ResponseCode": float64(404), "ResponsePagePath": "/404.html", "ErrorCachingMinTTL": float64(0)}}, dc["CustomErrorResponses"])

	origins := map[string]map[string]any{}
	for _, raw := range dc["Origins"].([]any) {
		o := raw.(map[string]any)
		origins[o["Id"].(string)] = o
	}
	policies := map[string]map[string]any{}
	for _, p := range tpl.Resources("AWS::CloudFront::CachePolicy") {
		policies[p.ID] = p.Properties["CachePolicyConfig"].(map[string]any)
	}
	headers := map[string]string{}
	for _, p := range tpl.Resources("AWS::CloudFront::ResponseHeadersPolicy") {
		c := p.Properties["ResponseHeadersPolicyConfig"].(map[string]any)
		for _, h := range c["CustomHeadersConfig"].(map[string]any)["Items"].([]any) {
			if h.(map[string]any)["Header"] == "Cache-Control" {
				headers[p.ID] = h.(map[string]any)["Value"].(string)
			}
		}
	}
	ttl := func(b map[string]any) (min, def, max float64) {
		id := strings.TrimSuffix(strings.TrimPrefix(flat(b["CachePolicyId"]), "<Ref:"), ">")
		p, ok := policies[id]
		require.True(t, ok, "behaviour %v uses a policy of this stack", b["PathPattern"])
		return p["MinTTL"].(float64), p["DefaultTTL"].(float64), p["MaxTTL"].(float64)
	}
	cacheControl := func(b map[string]any) string {
		return headers[strings.TrimSuffix(strings.TrimPrefix(flat(b["ResponseHeadersPolicyId"]), "<Ref:"), ">")]
	}
	s3Origin := func(b map[string]any) bool {
		o := origins[b["TargetOriginId"].(string)]
		return o["S3OriginConfig"] != nil && o["OriginAccessControlId"] != nil
	}

	def := dc["DefaultCacheBehavior"].(map[string]any)
	require.True(t, s3Origin(def), "pages come from the bucket through Origin Access Control")
	require.Equal(t, "redirect-to-https", def["ViewerProtocolPolicy"])
	mn, d, mx := ttl(def)
	require.Equal(t, []float64{0, 0, 0}, []float64{mn, d, mx}, "HTML is never cached")
	require.Equal(t, "no-cache", cacheControl(def))
	assocs := def["FunctionAssociations"].([]any)
	require.Len(t, assocs, 1)
	require.Equal(t, "viewer-request", assocs[0].(map[string]any)["EventType"])

	byPath := map[string]map[string]any{}
	for _, raw := range dc["CacheBehaviors"].([]any) {
		b := raw.(map[string]any)
		byPath[b["PathPattern"].(string)] = b
	}
	require.ElementsMatch(t, []string{"_next/static/*", "api/*", "hooks/*", "mcp"}, sortedKeys(byPath))

	static := byPath["_next/static/*"]
	require.True(t, s3Origin(static))
	mn, d, mx = ttl(static)
	require.Equal(t, []float64{oneYearSeconds, oneYearSeconds, oneYearSeconds}, []float64{mn, d, mx}, "hashed assets are cached for a year")
	require.Contains(t, cacheControl(static), "max-age=31536000")

	for _, p := range []string{"api/*", "hooks/*", "mcp"} {
		b := byPath[p]
		require.False(t, s3Origin(b), "%s goes to the API", p)
		o := origins[b["TargetOriginId"].(string)]
		domain, err := json.Marshal(o["DomainName"])
		require.NoError(t, err)
		require.Regexp(t, `"Fn::ImportValue":"`+fx.cfg.Name("api")+`:.*ApiEndpoint`, string(domain), "%s: the origin is the host of the API stack's endpoint", p)
		require.Contains(t, string(domain), `"Fn::Split":["/"`, "%s: https://host → host", p)
		require.Equal(t, "https-only", o["CustomOriginConfig"].(map[string]any)["OriginProtocolPolicy"])
		require.Equal(t, cachingDisabledID, b["CachePolicyId"], "%s is never cached", p)
		require.Equal(t, allViewerExceptHostHeaderID, b["OriginRequestPolicyId"], "%s forwards Authorization, query and body, with the API's own Host", p)
		require.ElementsMatch(t, []any{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}, b["AllowedMethods"])
		require.Nil(t, b["FunctionAssociations"], "%s is not rewritten", p)
	}
	// The same origin serves every API path.
	require.Equal(t, byPath["api/*"]["TargetOriginId"], byPath["hooks/*"]["TargetOriginId"])
	require.Equal(t, byPath["api/*"]["TargetOriginId"], byPath["mcp"]["TargetOriginId"])
}

func TestConsoleIsDeployedFromTheBuildAndInvalidated(t *testing.T) {
	t.Parallel()
	fx := auroraApp(t)
	tpl := fx.tpl(t, "console")
	deps := tpl.Resources(bucketDeploymentResourceType)
	require.Len(t, deps, 1)
	p := deps[0].Properties
	require.Equal(t, []any{"/*"}, p["DistributionPaths"], "a deploy invalidates every cached path")
	require.Equal(t, true, p["Prune"], "files of an earlier build are removed")
	require.NotNil(t, p["DistributionId"])
	require.NotEmpty(t, p["SourceObjectKeys"], "the console asset is uploaded")
}

// rewrite runs the distribution's CloudFront Function, as synthesized, on
// uri with Node (the function is plain ES5.1 as CloudFront's runtime is).
func rewrite(t *testing.T, code, uri string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the CloudFront Function cannot be run here")
	}
	script := code + "\nprocess.stdout.write(handler({request: {uri: process.argv[1], querystring: {id: {value: 'x'}}}}).uri);\n"
	out, err := exec.Command(node, "-e", script, uri).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

func TestConsoleRewriteMapsCleanURLsToFiles(t *testing.T) {
	t.Parallel()
	fx := auroraApp(t)
	fns := fx.tpl(t, "console").Resources(consoleFunctionResourceType)
	require.Len(t, fns, 1)
	code := fns[0].Properties["FunctionCode"].(string)
	require.Equal(t, "cloudfront-js-2.0", fns[0].Properties["FunctionConfig"].(map[string]any)["Runtime"])
	for _, tc := range []struct{ in, want string }{
		{"/", "/index.html"},
		{"/agents", "/agents.html"},
		{"/agents/", "/agents.html"},
		{"/workflows/edit", "/workflows/edit.html"},
		{"/index.html", "/index.html"},
		{"/404.html", "/404.html"},
		{"/agents.txt", "/agents.txt"},
		{"/_next/static/chunks/main-abc1.js", "/_next/static/chunks/main-abc1.js"},
		{"/favicon.ico", "/favicon.ico"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, rewrite(t, code, tc.in))
		})
	}
}

func TestConsoleOfADevStageIsDeletedWithItsStack(t *testing.T) {
	t.Parallel()
	fx := buildWithConsole(t, map[string]string{
		"stage":             "dev",
		"dataMode":          "external",
		"databaseSecretArn": externalSecretARN,
	}, fixtureDoc, stacks.FunctionNames(), fakeConsole(t))
	require.Empty(t, fx.nagErrors, "cdk-nag AwsSolutions errors (fix them or suppress with a reason)")
	tpl := fx.tpl(t, "console")
	buckets := tpl.Resources("AWS::S3::Bucket")
	require.Len(t, buckets, 1)
	require.Equal(t, "Delete", tpl.JSON["Resources"].(map[string]any)[buckets[0].ID].(map[string]any)["DeletionPolicy"])
	require.Len(t, tpl.Resources("Custom::S3AutoDeleteObjects"), 1, "the bucket is emptied first, so deleting the stack succeeds")
	require.Empty(t, fx.consoleInfo)
}
