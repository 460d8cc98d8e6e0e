package refserver

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// Error is an API error with its HTTP status and machine-readable code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// errorBody is the JSON of every non-2xx answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func badRequest(msg string) error   { return &Error{http.StatusBadRequest, "bad_request", msg} }
func unauthorized(msg string) error { return &Error{http.StatusUnauthorized, "unauthorized", msg} }

var (
	errNotFound         = &Error{http.StatusNotFound, "not_found", "not found"}
	errMethodNotAllowed = &Error{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"}
)

// errorFor maps any error to the API error a client sees: the one table of error codes.
func errorFor(err error) *Error {
	var apiErr *Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &tooBig):
		return &Error{http.StatusRequestEntityTooLarge, "body_too_large", "request body larger than the limit"}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, cache.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrInvalid):
		return &Error{http.StatusBadRequest, "bad_request", "invalid input: text must be valid UTF-8 without NUL bytes"}
	case errors.Is(err, cache.ErrUnconfirmed):
		return &Error{http.StatusServiceUnavailable, "unconfirmed", "the write is stored but the cache could not confirm its invalidation; read it back before relying on it"}
	case errors.Is(err, store.ErrQuota):
		return &Error{http.StatusTooManyRequests, "quota_exceeded", "daily message quota of the free tier used up"}
	default:
		return &Error{http.StatusInternalServerError, "internal", "internal error"}
	}
}

// writeError answers err as JSON {"error","code"} with its status; 5xx are logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFor(err)
	if e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Message, Code: e.Code})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error","code":"internal"}`)
	}
	writeBody(w, status, body)
}

// writeBody answers an already encoded JSON body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
