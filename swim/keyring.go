package swim

import (
	"fmt"
	"slices"
)

// Key rotation, done on every member in three steps so no member ever
// receives gossip it cannot decrypt:
//
//  1. InstallKey(new) on all members (they can now decrypt with it);
//  2. UseKey(new) on all members (they encrypt with it);
//  3. RemoveKey(old) on all members.

// InstallKey adds a decryption key (16, 24 or 32 bytes).
func (n *Node) InstallKey(key []byte) error {
	if n.keyring == nil {
		return ErrNoKeyring
	}
	if err := n.keyring.AddKey(slices.Clone(key)); err != nil {
		return fmt.Errorf("swim: install key: %w", err)
	}
	return nil
}

// UseKey makes an installed key the one that encrypts.
func (n *Node) UseKey(key []byte) error {
	if n.keyring == nil {
		return ErrNoKeyring
	}
	if err := n.keyring.UseKey(key); err != nil {
		return fmt.Errorf("swim: use key: %w", err)
	}
	return nil
}

// RemoveKey removes a key that is not the one in use.
func (n *Node) RemoveKey(key []byte) error {
	if n.keyring == nil {
		return ErrNoKeyring
	}
	if err := n.keyring.RemoveKey(key); err != nil {
		return fmt.Errorf("swim: remove key: %w", err)
	}
	return nil
}

// Keys returns the installed keys, the one in use first.
func (n *Node) Keys() [][]byte {
	if n.keyring == nil {
		return nil
	}
	return n.keyring.GetKeys()
}
