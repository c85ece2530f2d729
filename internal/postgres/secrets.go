package postgres

import (
	"context"
	"fmt"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.SecretStore = (*DB)(nil)

// PutSecret implements turbocat.SecretStore.
func (db *DB) PutSecret(ctx context.Context, userID, name string, ciphertext []byte) (*turbocat.SecretMeta, bool, error) {
	var meta *turbocat.SecretMeta
	var created bool
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.SecretUpsert(ctx, dbsqlc.SecretUpsertParams{UserID: userID, Name: name, ValueEnc: ciphertext})
		if err != nil {
			return translate(err, "secret")
		}
		meta = &turbocat.SecretMeta{Name: row.Name, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
		created = row.Created
		action := "secret.update"
		if created {
			action = "secret.create"
		}
		return audit(ctx, q, action, "secret", name, nil)
	})
	return meta, created, err
}

// ListSecrets implements turbocat.SecretStore.
func (db *DB) ListSecrets(ctx context.Context, userID string) ([]*turbocat.SecretMeta, error) {
	rows, err := db.q.SecretList(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return mapSlice(rows, func(r dbsqlc.SecretListRow) *turbocat.SecretMeta {
		return &turbocat.SecretMeta{Name: r.Name, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}), nil
}

// DeleteSecret implements turbocat.SecretStore.
func (db *DB) DeleteSecret(ctx context.Context, userID, name string) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.SecretDelete(ctx, dbsqlc.SecretDeleteParams{UserID: userID, Name: name})
		if err != nil {
			return translate(err, "secret")
		}
		if n == 0 {
			return turbocat.NotFound("secret")
		}
		return audit(ctx, q, "secret.delete", "secret", name, nil)
	})
}

// SecretCiphertexts implements turbocat.SecretStore.
func (db *DB) SecretCiphertexts(ctx context.Context, userID string, names []string) (map[string][]byte, error) {
	rows, err := db.q.SecretGetValues(ctx, dbsqlc.SecretGetValuesParams{UserID: userID, Names: names})
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.Name] = r.ValueEnc
	}
	return out, nil
}
