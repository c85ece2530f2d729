package sfnapi

import (
	"context"

	"github.com/turbocat/turbocat/internal/runtime"
)

type tagsIn struct {
	ResourceArn string
	Tags        []runtime.Tag
	TagKeys     []string
}

func (h *Handler) tagResource(ctx context.Context, in tagsIn) (any, error) {
	return obj{}, h.rt.TagResource(ctx, in.ResourceArn, in.Tags)
}

func (h *Handler) untagResource(ctx context.Context, in tagsIn) (any, error) {
	return obj{}, h.rt.UntagResource(ctx, in.ResourceArn, in.TagKeys)
}

func (h *Handler) listTags(ctx context.Context, in tagsIn) (any, error) {
	tags, err := h.rt.ListTagsForResource(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return obj{"tags": nonNil(tags)}, nil
}

type activityIn struct {
	Name, ActivityArn, WorkerName, NextToken string
	MaxResults                               int
	Tags                                     []runtime.Tag
}

func (h *Handler) createActivity(ctx context.Context, in activityIn) (any, error) {
	a, err := h.rt.CreateActivity(ctx, in.Name, tagMap(in.Tags))
	if err != nil {
		return nil, err
	}
	return obj{"activityArn": a.Arn, "creationDate": ep(a.CreationDate)}, nil
}

func (h *Handler) deleteActivity(ctx context.Context, in activityIn) (any, error) {
	return obj{}, h.rt.DeleteActivity(ctx, in.ActivityArn)
}

func (h *Handler) describeActivity(ctx context.Context, in activityIn) (any, error) {
	a, err := h.rt.DescribeActivity(ctx, in.ActivityArn)
	if err != nil {
		return nil, err
	}
	return obj{"activityArn": a.Arn, "name": a.Name, "creationDate": ep(a.CreationDate)}, nil
}

func (h *Handler) listActivities(ctx context.Context, in activityIn) (any, error) {
	var items []obj
	for _, a := range h.rt.ListActivities(ctx) {
		items = append(items, obj{"activityArn": a.Arn, "name": a.Name, "creationDate": ep(a.CreationDate)})
	}
	p, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(obj{"activities": nonNil(p)}, next), nil
}

func (h *Handler) getActivityTask(ctx context.Context, in activityIn) (any, error) {
	token, input, err := h.rt.GetActivityTask(ctx, in.ActivityArn, in.WorkerName)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return obj{}, nil
	}
	return obj{"taskToken": token, "input": input}, nil
}
