module github.com/llmeter-go/llmeter

go 1.26
