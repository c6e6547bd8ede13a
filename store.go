package cityhub

import "context"

// Store is everything the platform keeps. sqlstore implements it on SQLite
// and on PostgreSQL; storetest checks both behave alike.
type Store interface {
	DepartmentService
	UserService
	TokenService
	LoginGuard
	AuditService
	CatalogService
	TableService
	PullService
	DeviceService
	APIKeyService
	UsageService
	EngagementService
	// Ping checks the store answers.
	Ping(ctx context.Context) error
	// SchemaVersion returns the applied and the latest known migration.
	SchemaVersion(ctx context.Context) (applied, latest int, err error)
	Close() error
}
