package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// Paimon's ErrorResponse resource types.
const (
	resDatabase = "DATABASE"
	resTable    = "TABLE"
	resSnapshot = "SNAPSHOT"
	resTag      = "TAG"
	resBranch   = "BRANCH"
	resView     = "VIEW"
	resFunction = "FUNCTION"
	resColumn   = "COLUMN"
)

// apiError is an error with its HTTP status. It is written as Paimon's ErrorResponse:
// {"message": ..., "resourceType": ..., "resourceName": ..., "code": status}.
type apiError struct {
	Status       int
	Message      string
	ResourceType string
	ResourceName string
	Err          error
}

func (e *apiError) Error() string { return e.Message }
func (e *apiError) Unwrap() error { return e.Err }

// errorResponse is Paimon's ErrorResponse, used for every error of the API.
type errorResponse struct {
	Message      string  `json:"message"`
	ResourceType *string `json:"resourceType,omitempty"`
	ResourceName *string `json:"resourceName,omitempty"`
	Code         int     `json:"code"`
}

func notFound(resType, resName, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...), ResourceType: resType, ResourceName: resName}
}

func conflict(resType, resName, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusConflict, Message: fmt.Sprintf(format, args...), ResourceType: resType, ResourceName: resName}
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func notImplemented(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusNotImplemented, Message: fmt.Sprintf(format, args...)}
}

// toAPIError classifies an error.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body is over the limit of %d bytes", mbe.Limit), Err: err}
	case errors.Is(err, catalog.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, catalog.ErrExists):
		return &apiError{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.Is(err, table.ErrConflict):
		return &apiError{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Message: "request cancelled: " + err.Error(), Err: err}
	}
	return &apiError{Status: http.StatusInternalServerError, Message: err.Error(), Err: err}
}

// writeError writes err as an ErrorResponse.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	resp := errorResponse{Message: ae.Message, Code: ae.Status}
	if ae.ResourceType != "" {
		resp.ResourceType = &ae.ResourceType
	}
	if ae.ResourceName != "" {
		resp.ResourceName = &ae.ResourceName
	}
	if r != nil && r.Body != nil {
		// Drain a little of an unread body so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, r.Body, 64<<10)
	}
	writeJSON(w, ae.Status, resp)
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(errorResponse{Message: "encoding the response: " + err.Error(), Code: http.StatusInternalServerError})
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// writeOK writes an empty 200 response (Paimon's "Success, no content").
func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// decodeJSON decodes a request body; strict refuses unknown fields.
func decodeJSON(r *http.Request, v any, strict bool) error {
	if r.Body == nil {
		return badRequest("missing request body")
	}
	dec := json.NewDecoder(r.Body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return toAPIError(err)
		}
		if errors.Is(err, io.EOF) {
			return badRequest("missing request body")
		}
		return badRequest("malformed JSON request body: %v", err)
	}
	if dec.More() {
		return badRequest("malformed JSON request body: more than one value")
	}
	return nil
}
