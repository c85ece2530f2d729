package llmexec

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func schemaMap(schema json.RawMessage) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(schema, &m); err != nil {
		return nil, executor.Errorf(executor.ErrInvalidConfig, false, "responseSchema: %v", err)
	}
	return m, nil
}

func (e *Executor) openai(ctx context.Context, c *call) (*reply, error) {
	opts := []ooption.RequestOption{
		ooption.WithHTTPClient(c.httpClient),
		ooption.WithMaxRetries(0),
		ooption.WithAPIKey(c.apiKey),
	}
	if c.apiKey == "" {
		opts = append(opts, ooption.WithHeaderDel("Authorization"))
	}
	if c.baseURL != "" {
		opts = append(opts, ooption.WithBaseURL(c.baseURL))
	}
	if c.idempotencyKey != "" {
		opts = append(opts, ooption.WithHeader(executor.IdempotencyHeader, c.idempotencyKey))
	}
	client := openai.NewClient(opts...)
	var msgs []openai.ChatCompletionMessageParamUnion
	if c.system != "" {
		msgs = append(msgs, openai.SystemMessage(c.system))
	}
	for _, m := range c.messages {
		if m.Role == "assistant" {
			msgs = append(msgs, openai.AssistantMessage(m.Content))
		} else {
			msgs = append(msgs, openai.UserMessage(m.Content))
		}
	}
	params := openai.ChatCompletionNewParams{Model: shared.ChatModel(c.model), Messages: msgs}
	if c.baseURL == "" || strings.Contains(c.baseURL, "api.openai.com") {
		params.MaxCompletionTokens = openai.Int(c.maxTokens)
	} else {
		params.MaxTokens = openai.Int(c.maxTokens)
	}
	if c.temperature != nil {
		params.Temperature = openai.Float(*c.temperature)
	}
	if len(c.schema) > 0 {
		m, err := schemaMap(c.schema)
		if err != nil {
			return nil, err
		}
		params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "response", Schema: m}},
		}
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		return nil, err
	}
	if len(resp.Choices) == 0 {
		return nil, executor.Errorf(executor.ErrLLMInvalidOutput, true, "openai returned no choices")
	}
	ch := resp.Choices[0]
	rep := &reply{text: ch.Message.Content, model: resp.Model, finishReason: ch.FinishReason, inputTokens: resp.Usage.PromptTokens, outputTokens: resp.Usage.CompletionTokens}
	if rep.model == "" {
		rep.model = c.model
	}
	if ch.Message.Refusal != "" {
		rep.finishReason = "content_filter"
	}
	return rep, nil
}

func (e *Executor) anthropic(ctx context.Context, c *call) (*reply, error) {
	opts := []aoption.RequestOption{
		aoption.WithHTTPClient(c.httpClient),
		aoption.WithMaxRetries(0),
	}
	if c.apiKey != "" {
		opts = append(opts, aoption.WithAPIKey(c.apiKey))
	} else {
		// No key: make sure none from the environment is sent either.
		opts = append(opts, aoption.WithHeaderDel("Authorization"), aoption.WithHeaderDel("X-Api-Key"))
	}
	if c.baseURL != "" {
		opts = append(opts, aoption.WithBaseURL(c.baseURL))
	}
	if c.idempotencyKey != "" {
		opts = append(opts, aoption.WithHeader(executor.IdempotencyHeader, c.idempotencyKey))
	}
	if c.temperature != nil {
		opts = append(opts, aoption.WithJSONSet("temperature", *c.temperature))
	}
	client := anthropic.NewClient(opts...)
	params := anthropic.MessageNewParams{Model: anthropic.Model(c.model), MaxTokens: c.maxTokens}
	if c.system != "" {
		params.System = []anthropic.TextBlockParam{{Text: c.system}}
	}
	for _, m := range c.messages {
		if m.Role == "assistant" {
			params.Messages = append(params.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content)))
		} else {
			params.Messages = append(params.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	if len(c.schema) > 0 {
		m, err := schemaMap(c.schema)
		if err != nil {
			return nil, err
		}
		params.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: m}}
	}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	rep := &reply{text: text.String(), model: string(msg.Model), inputTokens: msg.Usage.InputTokens, outputTokens: msg.Usage.OutputTokens}
	if rep.model == "" {
		rep.model = c.model
	}
	switch msg.StopReason {
	case anthropic.StopReasonEndTurn, anthropic.StopReasonStopSequence:
		rep.finishReason = "stop"
	case anthropic.StopReasonMaxTokens:
		rep.finishReason = "length"
	case anthropic.StopReasonRefusal:
		rep.finishReason = "content_filter"
	case anthropic.StopReasonToolUse:
		rep.finishReason = "tool_calls"
	default:
		rep.finishReason = string(msg.StopReason)
	}
	return rep, nil
}

func (e *Executor) bedrock(ctx context.Context, c *call) (*reply, error) {
	if e.opts.AWS == nil {
		return nil, executor.Errorf(executor.ErrInvalidConfig, false, "the bedrock provider is not configured on this server (no AWS config)")
	}
	cfg := e.opts.AWS.Copy()
	if c.region != "" {
		cfg.Region = c.region
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
		if c.baseURL != "" {
			o.BaseEndpoint = aws.String(c.baseURL)
		}
		if c.httpClient != nil {
			o.HTTPClient = c.httpClient
		}
	})
	in := &bedrockruntime.ConverseInput{
		ModelId:         aws.String(c.model),
		InferenceConfig: &btypes.InferenceConfiguration{MaxTokens: aws.Int32(int32(min(c.maxTokens, 1<<30)))},
	}
	if c.temperature != nil {
		in.InferenceConfig.Temperature = aws.Float32(float32(*c.temperature))
	}
	system := c.system
	if len(c.schema) > 0 {
		system = strings.TrimSpace(system + "\n\n" + schemaInstruction(c.schema))
	}
	if system != "" {
		in.System = []btypes.SystemContentBlock{&btypes.SystemContentBlockMemberText{Value: system}}
	}
	for _, m := range c.messages {
		role := btypes.ConversationRoleUser
		if m.Role == "assistant" {
			role = btypes.ConversationRoleAssistant
		}
		in.Messages = append(in.Messages, btypes.Message{Role: role, Content: []btypes.ContentBlock{&btypes.ContentBlockMemberText{Value: m.Content}}})
	}
	out, err := client.Converse(ctx, in)
	if err != nil {
		return nil, err
	}
	rep := &reply{model: c.model}
	if msg, ok := out.Output.(*btypes.ConverseOutputMemberMessage); ok {
		var text strings.Builder
		for _, b := range msg.Value.Content {
			if t, ok := b.(*btypes.ContentBlockMemberText); ok {
				text.WriteString(t.Value)
			}
		}
		rep.text = text.String()
	} else {
		return nil, executor.Errorf(executor.ErrLLMInvalidOutput, true, "bedrock returned no message")
	}
	if out.Usage != nil {
		rep.inputTokens = int64(aws.ToInt32(out.Usage.InputTokens))
		rep.outputTokens = int64(aws.ToInt32(out.Usage.OutputTokens))
	}
	switch out.StopReason {
	case btypes.StopReasonEndTurn, btypes.StopReasonStopSequence:
		rep.finishReason = "stop"
	case btypes.StopReasonMaxTokens:
		rep.finishReason = "length"
	case btypes.StopReasonContentFiltered, btypes.StopReasonGuardrailIntervened:
		rep.finishReason = "content_filter"
	case btypes.StopReasonToolUse:
		rep.finishReason = "tool_calls"
	default:
		rep.finishReason = string(out.StopReason)
	}
	return rep, nil
}

// classifyProvider maps the SDKs' API errors; nil when err is not one.
func classifyProvider(provider string, err error) *turbocat.StepError {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return statusError(provider, oe.StatusCode, retryAfter(oe.Response), oe.Message)
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return statusError(provider, ae.StatusCode, retryAfter(ae.Response), ae.Message)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		status := 0
		ra := ""
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			status = re.HTTPStatusCode()
			if re.Response != nil {
				ra = re.Response.Header.Get("Retry-After")
			}
		}
		msg := apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException":
			return statusError(provider, http.StatusTooManyRequests, ra, msg)
		case "ModelTimeoutException":
			return statusError(provider, http.StatusRequestTimeout, "", msg)
		case "InternalServerException", "ServiceUnavailableException", "ModelNotReadyException", "ModelErrorException":
			return statusError(provider, max(status, 500), "", msg)
		case "ValidationException", "AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException":
			return statusError(provider, max(status, 400), "", msg)
		}
		if status > 0 {
			return statusError(provider, status, ra, msg)
		}
	}
	return nil
}

func retryAfter(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return resp.Header.Get("Retry-After")
}
