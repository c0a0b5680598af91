//! Contract tests of the Astrow Web API (protocol.md): the simulator over
//! real HTTP on loopback, through the connector where it covers a rule and
//! with raw requests where the connector rightly refuses to send them.

#[path = "contract_astrow/support.rs"]
mod support;

#[path = "contract_astrow/session.rs"]
mod session;

#[path = "contract_astrow/employees.rs"]
mod employees;

#[path = "contract_astrow/bookings.rs"]
mod bookings;

#[path = "contract_astrow/feed.rs"]
mod feed;

#[path = "contract_astrow/faults.rs"]
mod faults;

#[path = "contract_astrow/own_bookings.rs"]
mod own_bookings;

#[path = "contract_astrow/answers.rs"]
mod answers;

#[path = "contract_astrow/tls.rs"]
mod tls;
