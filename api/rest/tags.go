package rest

import (
	"errors"
	"net/http"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// Creating and deleting tags needs the table's lifecycle functions (tag files that pin
// the snapshot's manifests against expiry); until package table has them these routes
// answer 501.

func (a *API) createTag(w http.ResponseWriter, r *http.Request, id catalog.Identifier, _ *table.Table) {
	writeError(w, r, notImplemented("creating tags of table %s is not supported by this server yet", id))
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, id catalog.Identifier, t *table.Table) {
	name, err := urlName(r, "tag", "tag", queryFormOf(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := t.Tag(r.Context(), name); err != nil {
		writeError(w, r, tagError(err, id, name))
		return
	}
	writeError(w, r, notImplemented("deleting tags of table %s is not supported by this server yet", id))
}

// queryFormOf reports whether the request is on the Paimon REST-catalog routes, whose
// names are URLEncoder-encoded.
func queryFormOf(r *http.Request) bool {
	return len(r.URL.Path) >= 4 && r.URL.Path[:4] == "/v1/"
}

func tagError(err error, id catalog.Identifier, name string) error {
	if isTableNotFound(err) {
		return notFound(resTag, name, "tag %s of table %s does not exist", name, id)
	}
	return err
}

func isTableNotFound(err error) bool {
	return err != nil && errors.Is(err, table.ErrNotFound)
}
