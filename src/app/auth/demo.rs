//! The demo accounts: an administrator and a customer, with public passwords.
//! [`super::seed`] creates them in an empty database when demo seeding is on;
//! `/login` offers them where they exist, and the HTTP tests sign in as them.
//!
//! Turn demo seeding off (the default in production), or change the passwords,
//! before exposing a deployment.

use time::macros::datetime;

/// Email of the seeded administrator, "Ada Admin".
pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";
/// Password of the seeded administrator. Public: for demos and tests only.
pub const DEMO_ADMIN_PASSWORD: &str = "admin-demo-password";
/// Email of the seeded customer, "Casey Customer", who has two orders.
pub const DEMO_CUSTOMER_EMAIL: &str = "customer@example.com";
/// Password of the seeded customer. Public: for demos and tests only.
pub const DEMO_CUSTOMER_PASSWORD: &str = "customer-demo-password";

/// A demo account as it is seeded.
pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    /// `admin` or `customer`, as the `users.role` CHECK allows.
    pub role: &'static str,
    /// Account creation, in unix seconds.
    pub created_at: i64,
}

/// Both accounts, in the order they are created. Their dates are fixed, like
/// every seeded date, so the same seed renders the same pages everywhere.
pub const DEMO_USERS: [DemoUser; 2] = [
    DemoUser {
        email: DEMO_ADMIN_EMAIL,
        name: "Ada Admin",
        password: DEMO_ADMIN_PASSWORD,
        role: "admin",
        // Three days before the first post.
        created_at: datetime!(2025-01-03 09:00 UTC).unix_timestamp(),
    },
    DemoUser {
        email: DEMO_CUSTOMER_EMAIL,
        name: "Casey Customer",
        password: DEMO_CUSTOMER_PASSWORD,
        role: "customer",
        // Before both of their orders.
        created_at: datetime!(2025-02-16 09:00 UTC).unix_timestamp(),
    },
];
