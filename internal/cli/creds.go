package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Credentials is what `turbocat login` stores in credentials.json.
type Credentials struct {
	APIURL       string `json:"apiUrl"`
	APIKey       string `json:"apiKey,omitempty"`
	AccessToken  string `json:"accessToken,omitempty"`
	RefreshToken string `json:"refreshToken,omitempty"`
	Email        string `json:"email,omitempty"`
}

func (e *Env) credsPath() (string, error) {
	dir := e.ConfigDir
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the user config directory: %w", err)
		}
		dir = filepath.Join(base, "turbocat")
	}
	return filepath.Join(dir, "credentials.json"), nil
}

// loadCreds reads the stored credentials; none stored is not an error.
func (e *Env) loadCreds() (Credentials, error) {
	var c Credentials
	p, err := e.credsPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read credentials: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("parse %s: %w", p, err)
	}
	return c, nil
}

func (e *Env) saveCreds(c Credentials) error {
	p, err := e.credsPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// apiURL is TURBOCAT_API_URL, else the stored URL, else DefaultAPIURL.
func (e *Env) apiURL(c Credentials) string {
	if v := e.getenv("TURBOCAT_API_URL"); v != "" {
		return strings.TrimRight(v, "/")
	}
	if c.APIURL != "" {
		return c.APIURL
	}
	return DefaultAPIURL
}
