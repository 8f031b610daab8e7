package render

import (
	"encoding/csv"
	"io"
)

func csvReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	return cr
}
