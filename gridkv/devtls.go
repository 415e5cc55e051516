package gridkv

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/gridkv/gridkv/transport"
)

// devTLS returns the insecure development TLS configuration: a CA and one
// node certificate derived from secret alone (Ed25519 keys from seeds,
// signatures are deterministic), so every process started with the same
// secret, including none, trusts every other. Anyone who knows the secret,
// or that there is none, can join or impersonate a node: it is for laptops
// and tests only.
func devTLS(secret []byte) (*tls.Config, error) {
	seed := func(label string) []byte {
		h := sha256.New()
		h.Write([]byte("gridkv insecure development " + label + "\x00"))
		h.Write(secret)
		return h.Sum(nil)
	}
	caKey := ed25519.NewKeyFromSeed(seed("ca"))
	nodeKey := ed25519.NewKeyFromSeed(seed("node"))
	notBefore := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gridkv insecure development CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(nil, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("gridkv: dev CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("gridkv: dev CA: %w", err)
	}
	nodeTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: transport.DefaultServerName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{transport.DefaultServerName},
	}
	nodeDER, err := x509.CreateCertificate(nil, nodeTmpl, caCert, nodeKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("gridkv: dev node certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(nodeKey)
	if err != nil {
		return nil, fmt.Errorf("gridkv: dev node key: %w", err)
	}
	return transport.NodeTLS(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: nodeDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	)
}
