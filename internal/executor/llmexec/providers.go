package llmexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
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

// parametersMap is a tool's parameters schema as a map (an empty object
// schema when it has none).
func parametersMap(schema json.RawMessage) map[string]any {
	m := map[string]any{}
	if len(schema) > 0 {
		_ = json.Unmarshal(schema, &m)
	}
	if _, ok := m["type"]; !ok {
		m["type"] = "object"
	}
	if _, ok := m["properties"]; !ok {
		m["properties"] = map[string]any{}
	}
	return m
}

// argumentsValue is a tool call's arguments as a value to send back in the
// conversation: the JSON object the model sent, or {} when it sent none
// or something else (the error result tells the model).
func argumentsValue(args string) any {
	var v map[string]any
	if json.Unmarshal([]byte(args), &v) != nil || v == nil {
		return map[string]any{}
	}
	return v
}

// maxReplyBytes bounds a model's answer read whole.
const maxReplyBytes = 32 << 20

// streamed reports whether a response is a stream of server-sent events;
// a server that ignores "stream": true answers with the whole reply.
func streamed(res *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return mt == "text/event-stream"
}

// wholeReply decodes the body of a response that was asked to stream but
// was not.
func wholeReply(res *http.Response, v any) error {
	b, err := io.ReadAll(io.LimitReader(res.Body, maxReplyBytes))
	if err != nil {
		return fmt.Errorf("read the reply: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode the reply: %w", err)
	}
	return nil
}

// openaiStream makes a Chat Completions call with "stream": true, passing
// each piece of generated text to text as it arrives, and returns the
// completion the chunks add up to.
func openaiStream(ctx context.Context, client *openai.Client, params openai.ChatCompletionNewParams, text func(string)) (*openai.ChatCompletion, error) {
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	var raw *http.Response
	stream := client.Chat.Completions.NewStreaming(ctx, params, ooption.WithResponseInto(&raw))
	defer func() { _ = stream.Close() }()
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if raw != nil && !streamed(raw) {
		var resp openai.ChatCompletion
		if err := wholeReply(raw, &resp); err != nil {
			return nil, err
		}
		return &resp, nil
	}
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			text(chunk.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return &acc.ChatCompletion, nil
}

// anthropicStream makes a Messages call with "stream": true, passing each
// piece of generated text to text as it arrives, and returns the message
// the events add up to.
func anthropicStream(ctx context.Context, client *anthropic.Client, params anthropic.MessageNewParams, text func(string)) (*anthropic.Message, error) {
	var raw *http.Response
	stream := client.Messages.NewStreaming(ctx, params, aoption.WithResponseInto(&raw))
	defer func() { _ = stream.Close() }()
	if err := stream.Err(); err != nil {
		return nil, err
	}
	var msg anthropic.Message
	if raw != nil && !streamed(raw) {
		if err := wholeReply(raw, &msg); err != nil {
			return nil, err
		}
		return &msg, nil
	}
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			return nil, err
		}
		if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
			text(ev.Delta.Text)
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return &msg, nil
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
		switch {
		case len(m.Calls) > 0:
			a := openai.ChatCompletionAssistantMessageParam{}
			if m.Content != "" {
				a.Content.OfString = openai.String(m.Content)
			}
			for _, tc := range m.Calls {
				a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID: tc.ID, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: tc.Arguments}}})
			}
			msgs = append(msgs, openai.ChatCompletionMessageParamUnion{OfAssistant: &a})
		case len(m.Results) > 0:
			// One message of role tool per result.
			for _, r := range m.Results {
				msgs = append(msgs, openai.ToolMessage(r.Content, r.CallID))
			}
		case m.Role == "assistant":
			msgs = append(msgs, openai.AssistantMessage(m.Content))
		default:
			msgs = append(msgs, openai.UserMessage(m.Content))
		}
	}
	params := openai.ChatCompletionNewParams{Model: shared.ChatModel(c.model), Messages: msgs}
	if len(c.tools) > 0 {
		for _, t := range c.tools {
			fd := shared.FunctionDefinitionParam{Name: t.Name, Parameters: shared.FunctionParameters(parametersMap(t.Parameters))}
			if t.Description != "" {
				fd.Description = openai.String(t.Description)
			}
			params.Tools = append(params.Tools, openai.ChatCompletionFunctionTool(fd))
		}
		switch c.choice.Mode {
		case "none", "required", "auto":
			params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String(c.choice.Mode)}
		case "tool":
			params.ToolChoice = openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: c.choice.Name})
		}
	}
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
	var resp *openai.ChatCompletion
	var err error
	if c.live != nil {
		resp, err = openaiStream(ctx, &client, params, c.live)
	} else {
		resp, err = client.Chat.Completions.New(ctx, params)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Choices) == 0 {
		return nil, executor.Errorf(executor.ErrLLMInvalidOutput, true, "openai returned no choices")
	}
	ch := resp.Choices[0]
	rep := &reply{text: ch.Message.Content, model: resp.Model, finishReason: ch.FinishReason, inputTokens: resp.Usage.PromptTokens, outputTokens: resp.Usage.CompletionTokens}
	for _, tc := range ch.Message.ToolCalls {
		if tc.Type == "function" || tc.Type == "" {
			rep.calls = append(rep.calls, toolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
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
		switch {
		case len(m.Calls) > 0:
			var blocks []anthropic.ContentBlockParamUnion
			if m.Content != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Content))
			}
			for _, tc := range m.Calls {
				blocks = append(blocks, anthropic.NewToolUseBlock(tc.ID, argumentsValue(tc.Arguments), tc.Name))
			}
			params.Messages = append(params.Messages, anthropic.NewAssistantMessage(blocks...))
		case len(m.Results) > 0:
			// Every result of a turn in one user message, as the API asks.
			blocks := make([]anthropic.ContentBlockParamUnion, 0, len(m.Results))
			for _, r := range m.Results {
				blocks = append(blocks, anthropic.NewToolResultBlock(r.CallID, r.Content, r.IsError))
			}
			params.Messages = append(params.Messages, anthropic.NewUserMessage(blocks...))
		case m.Role == "assistant":
			params.Messages = append(params.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content)))
		default:
			params.Messages = append(params.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	for _, t := range c.tools {
		pm := parametersMap(t.Parameters)
		schema := anthropic.ToolInputSchemaParam{Properties: pm["properties"], ExtraFields: map[string]any{}}
		if req, ok := pm["required"].([]any); ok {
			for _, r := range req {
				if s, ok := r.(string); ok {
					schema.Required = append(schema.Required, s)
				}
			}
		}
		for k, v := range pm {
			if k != "properties" && k != "required" && k != "type" {
				schema.ExtraFields[k] = v
			}
		}
		tp := &anthropic.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tp.Description = anthropic.String(t.Description)
		}
		params.Tools = append(params.Tools, anthropic.ToolUnionParam{OfTool: tp})
	}
	if len(c.tools) > 0 {
		switch c.choice.Mode {
		case "auto":
			params.ToolChoice = anthropic.ToolChoiceUnionParam{OfAuto: &anthropic.ToolChoiceAutoParam{}}
		case "none":
			params.ToolChoice = anthropic.ToolChoiceUnionParam{OfNone: &anthropic.ToolChoiceNoneParam{}}
		case "required":
			params.ToolChoice = anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}}
		case "tool":
			params.ToolChoice = anthropic.ToolChoiceParamOfTool(c.choice.Name)
		}
	}
	if len(c.schema) > 0 {
		m, err := schemaMap(c.schema)
		if err != nil {
			return nil, err
		}
		params.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: m}}
	}
	var msg *anthropic.Message
	var err error
	if c.live != nil {
		msg, err = anthropicStream(ctx, &client, params, c.live)
	} else {
		msg, err = client.Messages.New(ctx, params)
	}
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	var calls []toolCall
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			calls = append(calls, toolCall{ID: b.ID, Name: b.Name, Arguments: string(b.Input)})
		}
	}
	rep := &reply{text: text.String(), model: string(msg.Model), inputTokens: msg.Usage.InputTokens, outputTokens: msg.Usage.OutputTokens, calls: calls}
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
		var content []btypes.ContentBlock
		if m.Content != "" || (len(m.Calls) == 0 && len(m.Results) == 0) {
			content = append(content, &btypes.ContentBlockMemberText{Value: m.Content})
		}
		for _, tc := range m.Calls {
			content = append(content, &btypes.ContentBlockMemberToolUse{Value: btypes.ToolUseBlock{ToolUseId: aws.String(tc.ID), Name: aws.String(tc.Name),
				Input: document.NewLazyDocument(argumentsValue(tc.Arguments))}})
		}
		for _, r := range m.Results {
			tr := btypes.ToolResultBlock{ToolUseId: aws.String(r.CallID), Content: []btypes.ToolResultContentBlock{&btypes.ToolResultContentBlockMemberText{Value: r.Content}}}
			if r.IsError {
				tr.Status = btypes.ToolResultStatusError
			}
			content = append(content, &btypes.ContentBlockMemberToolResult{Value: tr})
		}
		in.Messages = append(in.Messages, btypes.Message{Role: role, Content: content})
	}
	// Converse has no "none": the tools are then not offered at all.
	if len(c.tools) > 0 && c.choice.Mode != "none" {
		tc := &btypes.ToolConfiguration{}
		for _, t := range c.tools {
			spec := btypes.ToolSpecification{Name: aws.String(t.Name), InputSchema: &btypes.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(parametersMap(t.Parameters))}}
			if t.Description != "" {
				spec.Description = aws.String(t.Description)
			}
			tc.Tools = append(tc.Tools, &btypes.ToolMemberToolSpec{Value: spec})
		}
		switch c.choice.Mode {
		case "auto":
			tc.ToolChoice = &btypes.ToolChoiceMemberAuto{}
		case "required":
			tc.ToolChoice = &btypes.ToolChoiceMemberAny{}
		case "tool":
			tc.ToolChoice = &btypes.ToolChoiceMemberTool{Value: btypes.SpecificToolChoice{Name: aws.String(c.choice.Name)}}
		}
		in.ToolConfig = tc
	}
	out, err := client.Converse(ctx, in)
	if err != nil {
		return nil, err
	}
	rep := &reply{model: c.model}
	if msg, ok := out.Output.(*btypes.ConverseOutputMemberMessage); ok {
		var text strings.Builder
		for _, b := range msg.Value.Content {
			switch t := b.(type) {
			case *btypes.ContentBlockMemberText:
				text.WriteString(t.Value)
			case *btypes.ContentBlockMemberToolUse:
				args := "{}"
				if t.Value.Input != nil {
					if b, err := t.Value.Input.MarshalSmithyDocument(); err == nil {
						args = string(b)
					}
				}
				rep.calls = append(rep.calls, toolCall{ID: aws.ToString(t.Value.ToolUseId), Name: aws.ToString(t.Value.Name), Arguments: args})
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
