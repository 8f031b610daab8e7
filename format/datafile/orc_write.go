package datafile

import (
	"errors"
	"io"

	"github.com/tarnlake/tarn/format/types"
)

// NewORCWriter starts an ORC data file.
func NewORCWriter(out io.Writer, fields []types.DataField, o WriterOptions) (FileWriter, error) {
	return nil, errors.New("writing ORC data files is not supported yet")
}
