package stepfunctions

import "testing"

func TestOwnVersion(t *testing.T) {
	const arn = "arn:aws:lambda:eu-west-1:123456789012:function:turbocat-prod-steprunner"
	cases := []struct {
		name, arn, fn, version, want string
	}{
		{"steprunner names its running version", arn, "turbocat-prod-steprunner", "42", arn + ":42"},
		{"unpublished code stays unqualified", arn, "turbocat-prod-steprunner", "$LATEST", arn},
		{"other functions keep the version they are told", arn + ":7", "turbocat-prod-executions", "3", arn + ":7"},
		{"another function's unqualified ARN is left alone", arn, "turbocat-prod-executions", "3", arn},
		{"outside Lambda nothing changes", arn, "", "", arn},
	}
	for _, c := range cases {
		if got := ownVersion(c.arn, c.fn, c.version); got != c.want {
			t.Errorf("%s: ownVersion = %q, want %q", c.name, got, c.want)
		}
	}
}
