package stacks

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
)

// DefaultConsoleDir is where `make web` puts the console's static export,
// relative to the repository root.
const DefaultConsoleDir = "web/out"

// ConsoleBuilt reports whether dir holds a built console (its index.html).
func ConsoleBuilt(dir string) bool {
	if dir == "" {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, "index.html"))
	return err == nil && st.Mode().IsRegular()
}

// ConsoleStackProps configures NewConsoleStack.
type ConsoleStackProps struct {
	awscdk.StackProps
	Config settings.Config
	// Api is the stage's HTTP API: /api/*, /hooks/* and /mcp are routed to it on
	// the console's origin.
	Api *ApiStack
	// Dir is the built console (web/out, with its index.html).
	Dir string
}

// ConsoleStack serves the web console from a private S3 bucket through
// CloudFront, with the API on the same origin.
type ConsoleStack struct {
	awscdk.Stack
	Bucket       awss3.Bucket
	Distribution awscloudfront.Distribution
	// Rewrite is the viewer-request function mapping clean URLs to files.
	Rewrite    awscloudfront.Function
	Deployment awss3deployment.BucketDeployment
}

// consoleRewriteJS maps the console's clean URLs to the files of the static
// export: / → /index.html, /agents → /agents.html, /agents/ → /agents.html;
// paths with an extension (/_next/static/…, /agents.txt) are left alone.
// The query string (the ids of /workflows/edit?id=…) is untouched.
const consoleRewriteJS = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === "" || uri === "/") {
    request.uri = "/index.html";
    return request;
  }
  if (uri.charAt(uri.length - 1) === "/") {
    uri = uri.substring(0, uri.length - 1);
  }
  var last = uri.substring(uri.lastIndexOf("/") + 1);
  if (last.indexOf(".") === -1) {
    request.uri = uri + ".html";
  }
  return request;
}
`

// Cache-Control values the console's files are served with.
const (
	htmlCacheControl   = "no-cache"
	staticCacheControl = "public, max-age=31536000, immutable"
)

// NewConsoleStack creates the console stack: the bucket, the distribution
// with its behaviours and the deployment of props.Dir into the bucket.
func NewConsoleStack(scope constructs.Construct, id string, props *ConsoleStackProps) *ConsoleStack {
	cfg := props.Config
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &ConsoleStack{Stack: stack}

	bucketProps := &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	}
	if !cfg.RetainData {
		bucketProps.RemovalPolicy = awscdk.RemovalPolicy_DESTROY
		bucketProps.AutoDeleteObjects = jsii.Bool(true)
	}
	s.Bucket = awss3.NewBucket(stack, jsii.String("Bucket"), bucketProps)
	suppress(s.Bucket, "AwsSolutions-S1", "The bucket only holds the console's build output, replaced on every deploy; reads reach it through CloudFront only (Origin Access Control), so server access logs would record nothing but CloudFront's own fetches.")

	s.Rewrite = awscloudfront.NewFunction(stack, jsii.String("Rewrite"), &awscloudfront.FunctionProps{
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(consoleRewriteJS)),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
		Comment: jsii.String("Turbocat " + cfg.Stage + " console: clean URLs to .html files"),
	})

	htmlPolicy := awscloudfront.NewCachePolicy(stack, jsii.String("HtmlCache"), &awscloudfront.CachePolicyProps{
		Comment:                    jsii.String("Turbocat console pages: never cached, so a deploy shows at once"),
		MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		DefaultTtl:                 awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
		HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
		EnableAcceptEncodingGzip:   jsii.Bool(false),
		EnableAcceptEncodingBrotli: jsii.Bool(false),
	})
	year := awscdk.Duration_Days(jsii.Number(365))
	staticPolicy := awscloudfront.NewCachePolicy(stack, jsii.String("StaticCache"), &awscloudfront.CachePolicyProps{
		Comment:                    jsii.String("Turbocat console _next/static: content-hashed names, cached for a year"),
		MinTtl:                     year,
		DefaultTtl:                 year,
		MaxTtl:                     year,
		CookieBehavior:             awscloudfront.CacheCookieBehavior_None(),
		HeaderBehavior:             awscloudfront.CacheHeaderBehavior_None(),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
	})
	headers := func(id, cacheControl string) awscloudfront.ResponseHeadersPolicy {
		return awscloudfront.NewResponseHeadersPolicy(stack, jsii.String(id), &awscloudfront.ResponseHeadersPolicyProps{
			Comment: jsii.String("Turbocat console: Cache-Control " + cacheControl + " and security headers"),
			CustomHeadersBehavior: &awscloudfront.ResponseCustomHeadersBehavior{CustomHeaders: &[]*awscloudfront.ResponseCustomHeader{
				{Header: jsii.String("Cache-Control"), Value: jsii.String(cacheControl), Override: jsii.Bool(true)},
			}},
			SecurityHeadersBehavior: securityHeaders(),
		})
	}

	origin := awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(s.Bucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{
		// LIST makes S3 answer 404 (not 403) for a missing file, so the
		// error page below is served for unknown pages.
		OriginAccessLevels: &[]awscloudfront.AccessLevel{awscloudfront.AccessLevel_READ, awscloudfront.AccessLevel_LIST},
	})
	// The API's host: https://<id>.execute-api.<region>.amazonaws.com → <id>.execute-api.<region>.amazonaws.com.
	apiHost := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), props.Api.HttpApi.ApiEndpoint(), nil))
	api := &awscloudfront.BehaviorOptions{
		Origin: awscloudfrontorigins.NewHttpOrigin(apiHost, &awscloudfrontorigins.HttpOriginProps{
			ProtocolPolicy:      awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
			OriginSslProtocols:  &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
			ReadTimeout:         awscdk.Duration_Seconds(jsii.Number(60)),
			KeepaliveTimeout:    awscdk.Duration_Seconds(jsii.Number(60)),
			OriginShieldEnabled: jsii.Bool(false),
		}),
		AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
		CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
		OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
		ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
		Compress:             jsii.Bool(true),
	}
	rewrite := &[]*awscloudfront.FunctionAssociation{{EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST, Function: s.Rewrite}}
	s.Distribution = awscloudfront.NewDistribution(stack, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		Comment:           jsii.String("Turbocat " + cfg.Stage + " console and API"),
		DefaultRootObject: jsii.String("index.html"),
		HttpVersion:       awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:        awscloudfront.PriceClass_PRICE_CLASS_100,
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                origin,
			CachePolicy:           htmlPolicy,
			ResponseHeadersPolicy: headers("HtmlHeaders", htmlCacheControl),
			FunctionAssociations:  rewrite,
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			Compress:              jsii.Bool(true),
		},
		AdditionalBehaviors: &map[string]*awscloudfront.BehaviorOptions{
			"_next/static/*": {
				Origin:                origin,
				CachePolicy:           staticPolicy,
				ResponseHeadersPolicy: headers("StaticHeaders", staticCacheControl),
				ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
				Compress:              jsii.Bool(true),
			},
			"api/*":   api,
			"hooks/*": api,
			"mcp":     api,
		},
		ErrorResponses: &[]*awscloudfront.ErrorResponse{{
			HttpStatus:         jsii.Number(404),
			ResponseHttpStatus: jsii.Number(404),
			ResponsePagePath:   jsii.String("/404.html"),
			Ttl:                awscdk.Duration_Seconds(jsii.Number(0)),
		}},
	})
	// The warning asks for a default root object when the origin may list
	// the bucket (so / never returns a listing): it is set above, and the
	// rewrite function maps / to /index.html as well.
	awscdk.Annotations_Of(s.Distribution).AcknowledgeWarning(jsii.String("@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk"),
		jsii.String("DefaultRootObject is index.html and the viewer-request function rewrites / to /index.html"))
	suppress(s.Distribution, "AwsSolutions-CFR1", "The console and API serve every country their users are in; access is controlled by sign-in and API keys, not by geography.")
	suppress(s.Distribution, "AwsSolutions-CFR2", "AWS WAF (about $5/month plus rules per web ACL) is left to the operator; the API stage throttles requests and every API route needs a token or API key.")
	suppress(s.Distribution, "AwsSolutions-CFR3", "Reads of the static console are not audited; API requests are logged by the API Gateway stage's JSON access logs, which see every /api and /hooks request CloudFront forwards.")
	suppress(s.Distribution, "AwsSolutions-CFR4", "The distribution uses the default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes at TLSv1; a custom domain with its own certificate is needed to raise it.")

	s.Deployment = awss3deployment.NewBucketDeployment(stack, jsii.String("Deploy"), &awss3deployment.BucketDeploymentProps{
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(props.Dir), nil)},
		DestinationBucket: s.Bucket,
		Exclude:           jsii.Strings(".keep"),
		Prune:             jsii.Bool(true),
		MemoryLimit:       jsii.Number(512),
		Distribution:      s.Distribution,
		DistributionPaths: jsii.Strings("/*"),
		LogGroup: awslogs.NewLogGroup(stack, jsii.String("DeployLogs"), &awslogs.LogGroupProps{
			Retention:     retention(cfg),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}),
	})
	// The BucketDeployment and auto-delete custom resources are CDK's own
	// singleton functions; their roles and runtimes are CDK's choice.
	suppress(stack, "AwsSolutions-IAM4", "CDK's BucketDeployment and auto-delete-objects provider functions use the AWSLambdaBasicExecutionRole managed policy, which grants only CloudWatch Logs writes.",
		nagRegex("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"))
	suppress(stack, "AwsSolutions-IAM5", "CDK's BucketDeployment copies the console asset from the CDK staging bucket into this stage's bucket and invalidates the distribution: its wildcards are object keys of those two buckets and CloudFront invalidations, which have no narrower resource.",
		nagRegex("Action::s3:.*"), nagRegex("Resource::.*"))
	suppress(stack, "AwsSolutions-L1", "The runtimes of CDK's BucketDeployment and provider singleton functions are pinned by the aws-cdk-lib version, not by this app; upgrading aws-cdk-lib upgrades them.")

	awscdk.NewCfnOutput(stack, jsii.String("ConsoleUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String(fmt.Sprintf("https://%s", *s.Distribution.DistributionDomainName())),
		Description: jsii.String("URL of the Turbocat console (the API is on the same origin under /api)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ConsoleBucket"), &awscdk.CfnOutputProps{
		Value:       s.Bucket.BucketName(),
		Description: jsii.String("Bucket holding the console's files"),
	})
	return s
}

// securityHeaders are the response security headers of every console file.
func securityHeaders() *awscloudfront.ResponseSecurityHeadersBehavior {
	return &awscloudfront.ResponseSecurityHeadersBehavior{
		ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
		FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
			FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true),
		},
		ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
			ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN, Override: jsii.Bool(true),
		},
		StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
			AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(365)), IncludeSubdomains: jsii.Bool(true), Override: jsii.Bool(true),
		},
	}
}
