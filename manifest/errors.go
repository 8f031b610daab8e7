package manifest

import "errors"

var (
	// ErrCorrupt reports bytes that are not a valid Avro object container
	// file or records that do not match their schema.
	ErrCorrupt = errors.New("corrupt manifest file")
	// ErrUnsupported reports a valid file Tarn cannot read: an unknown
	// _VERSION, codec or an incompatible writer schema.
	ErrUnsupported = errors.New("unsupported manifest file")
)
