package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// DefaultServerName is the TLS server name nodes verify when the tls.Config
// sets none. Node certificates from CA.NodeCert always carry it, so any node
// of the cluster can be dialled by IP address.
const DefaultServerName = "gridkv-node"

// CA is a cluster certificate authority: every node certificate it signs is
// trusted by every node that trusts the CA.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// CertPEM is the CA certificate, to distribute to every node.
	CertPEM []byte
	// KeyPEM is the CA private key; keep it off the nodes if you can.
	KeyPEM []byte
}

// NewCA creates a self-signed cluster CA (ECDSA P-256) valid for validFor.
func NewCA(name string, validFor time.Duration) (*CA, error) {
	key, tmpl, err := newKeyAndTemplate(name, validFor)
	if err != nil {
		return nil, fmt.Errorf("transport: ca key: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = true
	tmpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("transport: ca certificate: %w", err)
	}
	return caFromParts(der, key)
}

// LoadCA loads a CA from PEM (as written from CA.CertPEM and CA.KeyPEM).
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("transport: ca: no CERTIFICATE PEM block")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("transport: ca: no key PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("transport: ca key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("transport: ca key: %T is not an ECDSA key", k)
	}
	return caFromParts(cb.Bytes, key)
}

func caFromParts(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("transport: ca certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("transport: ca: certificate is not a CA")
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("transport: ca key: %w", err)
	}
	return &CA{
		cert:    cert,
		key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}, nil
}

// NodeCert issues a certificate for one node, usable both to serve and to
// dial. name becomes the Common Name (Peer.Name on the other side) and a DNS
// name; DefaultServerName, extra DNS names and IP addresses in hosts are added
// as subject alternative names.
func (ca *CA) NodeCert(name string, validFor time.Duration, hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, tmpl, err := newKeyAndTemplate(name, validFor)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: node key: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.DNSNames = []string{DefaultServerName}
	if name != "" && name != DefaultServerName {
		tmpl.DNSNames = append(tmpl.DNSNames, name)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: node certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: node key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// NodeTLS builds the mutual-TLS configuration of a node from PEM: the cluster
// CA certificate, and the node's certificate and key. Peers are accepted
// only with a certificate signed by that CA.
func NodeTLS(caCertPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caCertPEM) {
		return nil, errors.New("transport: no CA certificate in PEM")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("transport: node certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ServerName:   DefaultServerName,
		NextProtos:   []string{ALPN},
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// InsecureDevTLS returns a configuration with a throw-away CA and node
// certificate generated in memory. Every Transport given this same
// configuration trusts the others, and nothing else: it is for tests and
// single-process demos. INSECURE for production: the CA key is not kept, so
// no other process can join, and all nodes share one identity and one
// stateless reset key.
func InsecureDevTLS() (*tls.Config, error) {
	ca, err := NewCA("gridkv insecure dev CA", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.NodeCert("gridkv-dev-node", 24*time.Hour, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	return NodeTLS(ca.CertPEM, certPEM, keyPEM)
}

// newKeyAndTemplate generates a P-256 key and the certificate fields the CA
// and node certificates share: a random serial, name as Common Name, valid
// from an hour ago (clock skew) for validFor.
func newKeyAndTemplate(name string, validFor time.Duration) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	return key, &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validFor),
	}, nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// mutualTLS derives the server and client configurations from the user's.
func mutualTLS(c *tls.Config) (server, client *tls.Config, err error) {
	if c == nil {
		return nil, nil, errors.New("transport: a tls.Config is required (see NodeTLS, InsecureDevTLS)")
	}
	if len(c.Certificates) == 0 && c.GetCertificate == nil {
		return nil, nil, errors.New("transport: tls.Config has no certificate")
	}
	if c.ClientCAs == nil && c.RootCAs == nil {
		return nil, nil, errors.New("transport: tls.Config has neither ClientCAs nor RootCAs: peers could not be verified")
	}
	if c.InsecureSkipVerify {
		return nil, nil, errors.New("transport: tls.Config.InsecureSkipVerify is not allowed")
	}
	server = c.Clone()
	if server.ClientCAs == nil {
		server.ClientCAs = c.RootCAs
	}
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.MinVersion = tls.VersionTLS13
	if len(server.NextProtos) == 0 {
		server.NextProtos = []string{ALPN}
	}
	client = server.Clone()
	if client.RootCAs == nil {
		client.RootCAs = c.ClientCAs
	}
	if client.ServerName == "" {
		client.ServerName = DefaultServerName
	}
	return server, client, nil
}
