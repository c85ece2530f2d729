package stacks

import (
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/turbocat/turbocat/infra/settings"
)

// DatabaseName is the Postgres database the aurora mode creates.
const DatabaseName = "turbocat"

// AuroraMajorVersion is the Aurora PostgreSQL major version of the aurora
// mode; its minor versions follow AWS's automatic minor upgrades.
const AuroraMajorVersion = "16"

// databaseUser is the master user of the aurora cluster.
const databaseUser = "turbocat"

// DataStackProps configures NewDataStack.
type DataStackProps struct {
	awscdk.StackProps
	Config settings.Config
}

// DataStack holds the secrets, the secrets key and, in aurora mode, the
// network and database.
type DataStack struct {
	awscdk.Stack
	// DatabaseSecret's value is the postgres:// URL the functions use.
	DatabaseSecret awssecretsmanager.ISecret
	// JWTSecret's value signs access tokens.
	JWTSecret awssecretsmanager.ISecret
	// SecretsKey encrypts user secrets (envelope encryption by the functions).
	SecretsKey awskms.IKey
	// Vpc, FunctionSecurityGroup, Cluster and Proxy are nil in external mode.
	Vpc                   awsec2.IVpc
	FunctionSecurityGroup awsec2.ISecurityGroup
	Cluster               awsrds.DatabaseCluster
	Proxy                 awsrds.DatabaseProxy
}

// completeSecretARN matches secret ARNs that end in Secrets Manager's
// random suffix.
var completeSecretARN = regexp.MustCompile(`:secret:.+-[A-Za-z0-9]{6}$`)

// urlUnsafe are the characters left out of the generated database password
// so that it can be put in a postgres:// URL without escaping.
const urlUnsafe = " %+~`#$&*()|[]{}:;<>?!'/@\"\\=,.^"

// NewDataStack creates the data stack for props.Config.DataMode.
func NewDataStack(scope constructs.Construct, id string, props *DataStackProps) *DataStack {
	cfg := props.Config
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &DataStack{Stack: stack}
	removal := removalPolicy(cfg)
	// Secrets get generated names: a deleted secret keeps its name for its
	// recovery window, which would block redeploying a destroyed stage.

	s.SecretsKey = awskms.NewKey(stack, jsii.String("SecretsKey"), &awskms.KeyProps{
		Alias:             jsii.String("alias/" + cfg.Name("secrets")),
		Description:       jsii.String("Turbocat " + cfg.Stage + ": envelope key for user secrets"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
	})
	jwt := awssecretsmanager.NewSecret(stack, jsii.String("JwtSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Turbocat " + cfg.Stage + ": HMAC key for access tokens"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: removal,
	})
	suppress(jwt, "AwsSolutions-SMG4", "Rotating the JWT key would log every user out; it is rotated by an operator with the procedure in the README.")
	s.JWTSecret = jwt

	if cfg.DataMode == settings.DataExternal {
		// A complete ARN ends in the 6-character suffix Secrets Manager
		// adds; without it, grants must match any suffix.
		if completeSecretARN.MatchString(cfg.DatabaseSecretARN) {
			s.DatabaseSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("DatabaseUrl"), jsii.String(cfg.DatabaseSecretARN))
		} else {
			s.DatabaseSecret = awssecretsmanager.Secret_FromSecretPartialArn(stack, jsii.String("DatabaseUrl"), jsii.String(cfg.DatabaseSecretARN))
		}
		return s
	}

	flowLogs := awslogs.NewLogGroup(stack, jsii.String("VpcFlowLogs"), &awslogs.LogGroupProps{
		Retention:     retention(cfg),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		VpcName:     jsii.String(cfg.Name("")),
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(float64(cfg.NATGateways)),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			{Name: jsii.String("app"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(20)},
			{Name: jsii.String("db"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24)},
		},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"all": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_ALL,
			},
		},
	})
	s.Vpc = vpc
	appSubnets := &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
	if cfg.VPCEndpoints {
		for name, svc := range map[string]awsec2.IInterfaceVpcEndpointService{
			"StepFunctions":  awsec2.InterfaceVpcEndpointAwsService_STEP_FUNCTIONS(),
			"EventBridge":    awsec2.InterfaceVpcEndpointAwsService_EVENTBRIDGE(),
			"SecretsManager": awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER(),
			"Kms":            awsec2.InterfaceVpcEndpointAwsService_KMS(),
			"Lambda":         awsec2.InterfaceVpcEndpointAwsService_LAMBDA(),
			"Scheduler":      awsec2.NewInterfaceVpcEndpointAwsService(jsii.String("scheduler"), nil, nil, nil),
		} {
			vpc.AddInterfaceEndpoint(jsii.String(name+"Endpoint"), &awsec2.InterfaceVpcEndpointOptions{
				Service: svc,
				Subnets: appSubnets,
			})
		}
	}

	fnSG := awsec2.NewSecurityGroup(stack, jsii.String("FunctionSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Turbocat functions: egress to the proxy, AWS APIs and LLM providers"),
		AllowAllOutbound: jsii.Bool(true),
	})
	s.FunctionSecurityGroup = fnSG

	// The cluster exports its Postgres log here; creating the group
	// ourselves sets its retention without CDK's log-retention Lambda.
	clusterID := cfg.Name("db")
	dbLogs := awslogs.NewLogGroup(stack, jsii.String("DatabaseLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/rds/cluster/" + clusterID + "/postgresql"),
		Retention:     retention(cfg),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// The major version only: Aurora applies minor upgrades itself
	// (AutoMinorVersionUpgrade), and a template naming a minor version
	// would ask CloudFormation to go back to it on the next deploy.
	engine := awsrds.DatabaseClusterEngine_AuroraPostgres(&awsrds.AuroraPostgresClusterEngineProps{
		Version: awsrds.AuroraPostgresEngineVersion_Of(jsii.String(AuroraMajorVersion), jsii.String(AuroraMajorVersion), nil),
	})
	cluster := awsrds.NewDatabaseCluster(stack, jsii.String("Database"), &awsrds.DatabaseClusterProps{
		Engine:            engine,
		ClusterIdentifier: jsii.String(clusterID),
		Writer: awsrds.ClusterInstance_ServerlessV2(jsii.String("writer"), &awsrds.ServerlessV2ClusterInstanceProps{
			AutoMinorVersionUpgrade: jsii.Bool(true),
		}),
		ServerlessV2MinCapacity: jsii.Number(cfg.AuroraMinCapacity),
		ServerlessV2MaxCapacity: jsii.Number(cfg.AuroraMaxCapacity),
		Vpc:                     vpc,
		VpcSubnets:              &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		Credentials: awsrds.Credentials_FromGeneratedSecret(jsii.String(databaseUser), &awsrds.CredentialsBaseOptions{
			ExcludeCharacters: jsii.String(urlUnsafe),
		}),
		DefaultDatabaseName:   jsii.String(DatabaseName),
		StorageEncrypted:      jsii.Bool(true),
		IamAuthentication:     jsii.Bool(true),
		DeletionProtection:    jsii.Bool(cfg.RetainData),
		RemovalPolicy:         removalPolicySnapshot(cfg),
		Backup:                &awsrds.BackupProps{Retention: awscdk.Duration_Days(jsii.Number(7))},
		CloudwatchLogsExports: &[]*string{jsii.String("postgresql")},
	})
	cluster.Node().AddDependency(dbLogs)
	s.Cluster = cluster

	proxySG := awsec2.NewSecurityGroup(stack, jsii.String("ProxySecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Turbocat RDS Proxy: Postgres from the functions"),
		AllowAllOutbound: jsii.Bool(true),
	})
	proxy := cluster.AddProxy(jsii.String("Proxy"), &awsrds.DatabaseProxyOptions{
		Vpc:            vpc,
		Secrets:        &[]awssecretsmanager.ISecret{cluster.Secret()},
		SecurityGroups: &[]awsec2.ISecurityGroup{proxySG},
		VpcSubnets:     appSubnets,
		RequireTLS:     jsii.Bool(true),
		DbProxyName:    jsii.String(cfg.Name("db")),
	})
	proxySG.AddIngressRule(fnSG, awsec2.Port_Tcp(jsii.Number(5432)), jsii.String("Postgres from Turbocat functions"), nil)
	cluster.Connections().AllowDefaultPortFrom(proxySG, jsii.String("Postgres from the RDS Proxy"))
	s.Proxy = proxy

	// The functions read one postgres:// URL. It is assembled by
	// CloudFormation from a dynamic reference to the generated password,
	// so the password never appears in the template.
	password := cluster.Secret().SecretValueFromJson(jsii.String("password")).UnsafeUnwrap()
	url := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("postgres://" + databaseUser + ":"), password,
		jsii.String("@"), proxy.Endpoint(),
		jsii.String(":5432/" + DatabaseName + "?sslmode=require"),
	})
	dbURL := awssecretsmanager.NewSecret(stack, jsii.String("DatabaseUrl"), &awssecretsmanager.SecretProps{
		Description:       jsii.String("Turbocat " + cfg.Stage + ": postgres:// URL through the RDS Proxy"),
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(url),
		RemovalPolicy:     removal,
	})
	s.DatabaseSecret = dbURL

	const rotationReason = "The URL secret embeds the master password by dynamic reference; rotating it needs a redeploy, documented in the README (rotation Lambda not deployed to keep the stack small)."
	suppress(dbURL, "AwsSolutions-SMG4", rotationReason)
	suppress(cluster, "AwsSolutions-SMG4", rotationReason)
	suppress(cluster, "AwsSolutions-RDS11", "The database sits in isolated subnets reachable only from the RDS Proxy security group; a non-default port adds no protection and breaks tooling defaults.")
	if !cfg.RetainData {
		suppress(cluster, "AwsSolutions-RDS10", "retainData=false (non-production stage): the stage must be deletable by make destroy. Production stages default to deletion protection.")
	}
	return s
}

// removalPolicy keeps data-bearing resources of stages that retain data.
func removalPolicy(cfg settings.Config) awscdk.RemovalPolicy {
	if cfg.RetainData {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// removalPolicySnapshot is removalPolicy for the database: a final snapshot
// instead of a plain delete when data is retained.
func removalPolicySnapshot(cfg settings.Config) awscdk.RemovalPolicy {
	if cfg.RetainData {
		return awscdk.RemovalPolicy_SNAPSHOT
	}
	return awscdk.RemovalPolicy_DESTROY
}
