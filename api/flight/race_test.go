//go:build race

package flight_test

// raceEnabled is set under the race detector.
const raceEnabled = true
