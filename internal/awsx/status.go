package awsx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// QueueAttributesAPI is the part of the SQS client `flytrap status` uses.
type QueueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// QueueDepth is SQS's approximate count of a queue's messages.
type QueueDepth struct {
	// Visible messages wait for a consumer.
	Visible int64 `json:"visible"`
	// InFlight messages were received and are not yet deleted or back.
	InFlight int64 `json:"in_flight"`
	// Delayed messages are not yet visible.
	Delayed int64 `json:"delayed"`
}

// Total is every message in the queue.
func (d QueueDepth) Total() int64 { return d.Visible + d.InFlight + d.Delayed }

// GetQueueDepth reads the approximate message counts of the queue at url.
func GetQueueDepth(ctx context.Context, c QueueAttributesAPI, url string) (QueueDepth, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return QueueDepth{}, fmt.Errorf("queue attributes of %s: %w", url, ClassifyCredentialError(err))
	}
	var d QueueDepth
	for name, dst := range map[types.QueueAttributeName]*int64{
		types.QueueAttributeNameApproximateNumberOfMessages:           &d.Visible,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible: &d.InFlight,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed:    &d.Delayed,
	} {
		v, ok := out.Attributes[string(name)]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return QueueDepth{}, fmt.Errorf("queue attribute %s = %q: %w", name, v, err)
		}
		*dst = n
	}
	return d, nil
}

// StateOutput is one root output recorded in a Terraform state file.
type StateOutput struct {
	Value     json.RawMessage `json:"value"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// String returns the output as text: a string output's value, else its JSON.
func (o StateOutput) String() string {
	var s string
	if json.Unmarshal(o.Value, &s) == nil {
		return s
	}
	return string(o.Value)
}

// TerraformState is what the CLI reads from a state file without
// Terraform: the root outputs and how many resource instances it tracks.
type TerraformState struct {
	Outputs map[string]StateOutput
	// Resources counts managed resource instances (data sources left out).
	Resources int
}

// ParseTerraformState reads a Terraform state file (format version 4,
// Terraform ≥ 0.12). Reading the state from S3 this way lets `flytrap
// status` and `destroy` look at a deployment without running Terraform.
func ParseTerraformState(state []byte) (TerraformState, error) {
	var st struct {
		Version   int                    `json:"version"`
		Outputs   map[string]StateOutput `json:"outputs"`
		Resources []struct {
			Mode      string            `json:"mode"`
			Instances []json.RawMessage `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(state, &st); err != nil {
		return TerraformState{}, fmt.Errorf("parse Terraform state: %w", err)
	}
	if st.Version != 4 {
		return TerraformState{}, fmt.Errorf("terraform state format %d; this flytrap reads format 4", st.Version)
	}
	ts := TerraformState{Outputs: st.Outputs}
	for _, r := range st.Resources {
		if r.Mode == "managed" {
			ts.Resources += len(r.Instances)
		}
	}
	return ts, nil
}

// Health is the result of one health check.
type Health struct {
	URL       string `json:"url"`
	OK        bool   `json:"ok"`
	Status    int    `json:"status,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

// CheckHealth GETs base + "/healthz" and reports whether it answered 200.
func CheckHealth(ctx context.Context, client *http.Client, base string) Health {
	u := strings.TrimSuffix(base, "/") + "/healthz"
	h := Health{URL: u}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		h.Error = err.Error()
		return h
	}
	resp, err := client.Do(req)
	h.LatencyMS = time.Since(start).Milliseconds()
	if err != nil {
		h.Error = err.Error()
		return h
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	h.Status = resp.StatusCode
	h.OK = resp.StatusCode == http.StatusOK
	if !h.OK {
		h.Error = "HTTP " + resp.Status
	}
	return h
}
