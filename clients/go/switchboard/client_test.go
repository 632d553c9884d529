package switchboard

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "switchboard/proto/switchboard/v1"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	dir := os.Getenv("SB_TESTDATA")
	if dir == "" {
		t.Fatal("SB_TESTDATA (proto/testdata) is not set; run clients/go/run-tests.sh")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worked example of docs/protocol.md, byte for byte.
func TestWorkedExampleBytes(t *testing.T) {
	req := &pb.Frame{CallId: 1, Body: &pb.Frame_CompletionRequest{CompletionRequest: &pb.CompletionRequest{
		Route:     "default",
		Messages:  []*pb.Message{{Role: pb.Role_ROLE_USER, Content: "Hi"}},
		OptMaxTokens: &pb.CompletionRequest_MaxTokens{MaxTokens: 16},
		RequestId: "ex-1",
	}}}
	got, err := EncodeFrame(req)
	if err != nil {
		t.Fatal(err)
	}
	want := testdata(t, "worked_request.frame")
	// Same header and length; the payload is the same message (protobuf does not fix
	// the order of fields on the wire: Go writes oneof members last, protoc in number order).
	if !bytes.Equal(got[:5], want[:5]) || len(got) != len(want) {
		t.Fatalf("request frame\n got % x\nwant % x", got, want)
	}
	golden, err := ReadFrame(bytes.NewReader(want))
	if err != nil || !proto.Equal(golden, req) {
		t.Fatalf("the documented request decodes as %v (%v), want %v", golden, err, req)
	}
	f, err := ReadFrame(bytes.NewReader(testdata(t, "worked_response.frame")))
	if err != nil {
		t.Fatal(err)
	}
	r := f.GetCompletionResponse()
	if f.GetCallId() != 1 || r.GetContent() != "Hello!" || r.GetProvider() != "sim-a" || r.GetCostUsd() != 4.5e-06 ||
		r.GetFinishReason() != pb.FinishReason_FINISH_REASON_STOP {
		t.Fatalf("response frame decoded as %v", f)
	}
	hello, _ := ReadFrame(bytes.NewReader(testdata(t, "hello.frame")))
	if hello.GetCallId() != 0 || hello.GetHello().GetProtocolVersion() != 1 {
		t.Fatalf("hello decoded as %v", hello)
	}
	st, _ := ReadFrame(bytes.NewReader(testdata(t, "status_unavailable.frame")))
	e := &StatusError{Status: st.GetStatus()}
	if e.Error() != "UNAVAILABLE (provider_5xx): all 2 attempts failed; last: sim-bad/broken returned HTTP 503 [request_id=req-golden-0004]" {
		t.Fatalf("status prints as %q", e.Error())
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{7, 0, 0, 0, 0})); err == nil {
		t.Fatal("flags 7 must be a protocol error")
	}
}

func dial(t *testing.T) *Client {
	t.Helper()
	if os.Getenv("SWITCHBOARD_SOCKET") == "" {
		t.Fatal("SWITCHBOARD_SOCKET is not set; run clients/go/run-tests.sh (it starts the daemon)")
	}
	c, err := Dial("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func user(text string) []*pb.Message { return []*pb.Message{{Role: pb.Role_ROLE_USER, Content: text}} }

func TestAgainstTheDaemon(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w, err := c.Hello(ctx, "switchboard-go-test")
	if err != nil || w.GetProtocolVersion() != 1 || w.GetMaxFrameBytes() == 0 {
		t.Fatalf("hello: %v %v", w, err)
	}

	r, err := c.Complete(ctx, &pb.CompletionRequest{Route: "default", Messages: user("Say hello"), RequestId: "go-1"})
	if err != nil || r.GetContent() == "" || r.GetCorrelationId() != "go-1" || r.GetRequestId() == "" || r.GetProvider() == "" {
		t.Fatalf("complete: %v %v", r, err)
	}

	var text strings.Builder
	restarts := 0
	sr, err := c.Stream(ctx, &pb.CompletionRequest{Route: "failover", Messages: user("Tell me a story"), Stream: true},
		func(ch *pb.CompletionChunk) { text.WriteString(ch.GetDelta()) },
		func(*pb.StreamRestart) { text.Reset(); restarts++ })
	if err != nil || sr.GetContent() == "" || text.String() != sr.GetContent() || sr.GetProvider() != "sim-a" {
		t.Fatalf("stream: %v %v (text %q)", sr, err, text.String())
	}

	// Many goroutines, one connection: each answer reaches its caller.
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := "go-par-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			r, err := c.Complete(ctx, &pb.CompletionRequest{Route: "default", Messages: user("parallel"), RequestId: id})
			if err == nil && r.GetCorrelationId() != id {
				err = errors.New("answer for " + r.GetCorrelationId() + " reached the caller of " + id)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	_, err = c.Complete(ctx, &pb.CompletionRequest{Route: "no-such-route", Messages: user("Hi")})
	var se *StatusError
	if !errors.As(err, &se) || se.Status.GetCode() != pb.Status_NOT_FOUND || !strings.HasPrefix(err.Error(), "NOT_FOUND (unknown_route)") {
		t.Fatalf("unknown route: %v", err)
	}

	// Images need a vision candidate.
	img := []*pb.Message{{Role: pb.Role_ROLE_USER, Parts: []*pb.ContentPart{
		{Kind: &pb.ContentPart_Text{Text: "What is this?"}},
		{Kind: &pb.ContentPart_Image{Image: &pb.ImageUrl{Url: "https://example.com/cat.png"}}},
	}}}
	vr, err := c.Complete(ctx, &pb.CompletionRequest{Route: "vision", Messages: img})
	if err != nil || vr.GetProvider() != "sim-v" {
		t.Fatalf("vision route: %v %v", vr, err)
	}
	_, err = c.Complete(ctx, &pb.CompletionRequest{Route: "default", Messages: img})
	if !errors.As(err, &se) || se.Status.GetCode() != pb.Status_UNAVAILABLE || se.Status.GetReasonCode() != "capability_missing" {
		t.Fatalf("images on a route without vision: %v", err)
	}

	// A client-side timeout cancels the call; the connection stays usable.
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.Complete(short, &pb.CompletionRequest{Route: "slow", Messages: user("slow")})
	stop()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call under a 300ms context: %v", err)
	}
	h, err := c.Admin(ctx, &pb.AdminRequest{Kind: &pb.AdminRequest_Health{Health: &pb.HealthRequest{}}})
	if err != nil || !h.GetHealth().GetServing() {
		t.Fatalf("health after a cancelled call: %v %v", h, err)
	}

	// The daemon's deadline.
	_, err = c.Complete(ctx, &pb.CompletionRequest{Route: "slow", Messages: user("slow"), DeadlineMs: 200})
	if !errors.As(err, &se) || se.Status.GetCode() != pb.Status_DEADLINE_EXCEEDED {
		t.Fatalf("deadline_ms 200 on a slow route: %v", err)
	}

	x, err := c.Admin(ctx, &pb.AdminRequest{Kind: &pb.AdminRequest_Explain{Explain: &pb.ExplainRequest{RequestId: "go-1"}}})
	if err != nil || x.GetExplain().GetEvent().GetCorrelationId() != "go-1" {
		t.Fatalf("explain go-1: %v %v", x, err)
	}
}

func TestVersionMismatchIsRefused(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.hello(ctx, "from-the-future", 2)
	var se *StatusError
	if !errors.As(err, &se) || se.Status.GetCode() != pb.Status_FAILED_PRECONDITION ||
		se.Status.GetReasonCode() != "unsupported_protocol_version" {
		t.Fatalf("hello with version 2: %v", err)
	}
	// The daemon closed the connection: later calls fail with that status.
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("the daemon did not close the connection")
	}
	if _, err := c.Complete(ctx, &pb.CompletionRequest{Route: "default", Messages: user("Hi")}); err == nil {
		t.Fatal("a call on a refused connection must fail")
	}
}

