package report_test

import (
	"fmt"
	"io"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/report"
)

func ExampleRun() {
	res := &llmeter.Result{RunName: "demo"}
	for i := range 20 {
		res.Responses = append(res.Responses, &llmeter.InvocationResponse{
			TimeToFirstToken:   llmeter.Ptr(0.1 + float64(i)/100),
			TimeToLastToken:    llmeter.Ptr(0.5 + float64(i)/50),
			TimePerOutputToken: llmeter.Ptr(0.01),
			NumTokensInput:     llmeter.Ptr(100),
			NumTokensOutput:    llmeter.Ptr(40 + i),
		})
	}
	rep := report.Run(res, "time_to_first_token")
	for _, c := range rep.Charts {
		fmt.Println(c.ID, c.Kind)
	}
	box := rep.Chart("box_time_to_first_token").Series[0].Boxes[0]
	fmt.Println("median", box.Median, "of", box.N)
	if err := rep.WriteHTML(io.Discard); err != nil {
		fmt.Println(err)
	}
	// Output:
	// box_time_to_first_token box
	// histogram_time_to_first_token histogram
	// scatter_time_per_output_token_vs_num_tokens_output scatter
	// timeline scatter
	// median 0.195 of 20
}
