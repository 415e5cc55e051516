package ring

import "errors"

// Errors returned by New, wrapped with details; test them with errors.Is.
var (
	// ErrNoMembers: a ring needs at least one member.
	ErrNoMembers = errors.New("ring: no members")
	// ErrEmptyID: a member has an empty ID.
	ErrEmptyID = errors.New("ring: empty member ID")
	// ErrDuplicateID: two members share an ID.
	ErrDuplicateID = errors.New("ring: duplicate member ID")
	// ErrBadWeight: a weight is negative, NaN or infinite.
	ErrBadWeight = errors.New("ring: bad member weight")
	// ErrTooManyMembers: more than MaxMembers members.
	ErrTooManyMembers = errors.New("ring: too many members")
	// ErrTooManyPoints: members, weights and Config.Points add up to more
	// than MaxPoints points.
	ErrTooManyPoints = errors.New("ring: too many points")
	// ErrBadConfig: a Config field is out of range.
	ErrBadConfig = errors.New("ring: bad config")
)
