// Package progress draws the live progress display of a run: a progress bar
// and LLMeter's live statistics, grouped and formatted as LLMeter's
// live_display does.
//
// The model is pure: [Lines] maps a [llmeter.Progress] snapshot and a width
// to the lines to draw. [Renderer] writes those lines to a terminal,
// erasing the block it drew before (cursor up, erase below), so the display
// updates in place; it knows nothing about runs or time.
//
// Divergences from LLMeter's display, on purpose:
//   - counts (tokens, failures) that are integers are shown as integers
//     ("3"), where LLMeter converts every value to float first ("3.0");
//   - the Errors group also shows the count of each error class
//     (failed_requests_<class>) that occurred;
//   - requests_per_minute is the core's definition (requests over the time
//     elapsed so far), not LLMeter's live one (over the send window);
//   - when no more requests are sent, lines say how many requests are still
//     in flight and how many responses wait to be processed.
package progress
