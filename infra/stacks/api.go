package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/internal/corspolicy"
)

// ApiStackProps configures NewApiStack.
type ApiStackProps struct {
	awscdk.StackProps
	Config settings.Config
}

// ApiStack holds the HTTP API, its $default stage (throttling, access logs)
// and the optional custom domain. Routes are added by the functions stack.
type ApiStack struct {
	awscdk.Stack
	HttpApi        awsapigatewayv2.HttpApi
	Stage          awsapigatewayv2.HttpStage
	AccessLogGroup awslogs.LogGroup
	// DomainName is nil without a custom domain.
	DomainName awsapigatewayv2.DomainName
	// URL is the public base URL: the custom domain, or the API endpoint.
	URL string
}

// accessLogFormat is one JSON object per request.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status",` +
	`"protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage","userAgent":"$context.identity.userAgent"}`

// NewApiStack creates the HTTP API stack.
func NewApiStack(scope constructs.Construct, id string, props *ApiStackProps) *ApiStack {
	cfg := props.Config
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &ApiStack{Stack: stack}

	apiProps := &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(cfg.Name("")),
		Description:        jsii.String("Turbocat " + cfg.Stage + " API"),
		CreateDefaultStage: jsii.Bool(false),
	}
	if len(cfg.AllowedOrigins) > 0 {
		apiProps.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(cfg.AllowedOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
				awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH,
				awsapigatewayv2.CorsHttpMethod_DELETE, awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			AllowHeaders:  jsii.Strings(corspolicy.AllowHeaders...),
			ExposeHeaders: jsii.Strings(corspolicy.ExposeHeaders...),
			MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	if cfg.DomainName != "" {
		s.DomainName = awsapigatewayv2.NewDomainName(stack, jsii.String("Domain"), &awsapigatewayv2.DomainNameProps{
			DomainName:  jsii.String(cfg.DomainName),
			Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Certificate"), jsii.String(cfg.CertificateARN)),
		})
	}
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), apiProps)
	s.HttpApi = api

	s.AccessLogGroup = awslogs.NewLogGroup(stack, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/turbocat/" + cfg.Stage + "/api-access"),
		Retention:     retention(cfg),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stageProps := &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(cfg.ThrottleRateLimit),
			BurstLimit: jsii.Number(float64(cfg.ThrottleBurstLimit)),
		},
	}
	if s.DomainName != nil {
		stageProps.DomainMapping = &awsapigatewayv2.DomainMappingOptions{DomainName: s.DomainName}
	}
	s.Stage = awsapigatewayv2.NewHttpStage(stack, jsii.String("DefaultStage"), stageProps)
	cfnStage := s.Stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: s.AccessLogGroup.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})

	switch {
	case cfg.PublicURL != "":
		s.URL = cfg.PublicURL
	case cfg.DomainName != "":
		s.URL = "https://" + cfg.DomainName
	default:
		s.URL = *api.ApiEndpoint()
	}

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String(s.URL),
		Description: jsii.String("Base URL of the Turbocat API"),
	})
	if s.DomainName != nil {
		awscdk.NewCfnOutput(stack, jsii.String("DomainTarget"), &awscdk.CfnOutputProps{
			Value:       s.DomainName.RegionalDomainName(),
			Description: jsii.String("Point a CNAME (or Route 53 alias) for " + cfg.DomainName + " here"),
		})
	}
	return s
}
