package probe

// profileOf returns the profile t is probed with: its own, or the
// Prober's.
func (p *Prober) profileOf(t *Target) *Profile {
	if t.Profile != nil {
		return t.Profile
	}
	return &p.cfg.Profile
}
