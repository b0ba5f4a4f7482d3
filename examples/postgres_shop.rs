//! A shop on PostgreSQL with two instances behind one public address: a checkout started on
//! one instance is validated by the bank's notification on the other, and the confirmation
//! e-mail goes out once although both run the e-mail relay.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example postgres_shop`
//! starts both instances (ports 3000 and 3001) on the mock bank; a load balancer would send
//! the shop's traffic, the bank's included, to either.

mod support;

use std::sync::Arc;
use std::time::Duration;

use tpe::engine::{Engine, Mailer};
use tpe::mock_bank::RunningBank;
use tpe::store::{PostgresOptions, PostgresStore};

use support::Error;

/// One instance: its own connection pool on the shared database (in `schema`), the engine, and
/// its background relay and jobs.
async fn instance(
    bank: &RunningBank,
    url: &str,
    schema: &str,
    mailer: Arc<dyn Mailer>,
    public_base: &str,
) -> Result<Engine, Error> {
    let options = PostgresOptions::default().schema(schema).max_connections(8);
    let store = Arc::new(PostgresStore::connect_with(url, options).await?);
    support::paybox_engine(bank, store, mailer, public_base)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to a PostgreSQL URL")?;
    let bank = support::start_bank().await?;
    let mailer: Arc<dyn Mailer> = Arc::new(tpe::engine::FileMailer::new("postgres-shop-mails")?);
    let mut servers = Vec::new();
    for port in [3000, 3001] {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        // Both instances answer for the same public address (here the first one's).
        let engine = instance(&bank, &url, "tpe", mailer.clone(), "http://127.0.0.1:3000/").await?;
        let jobs = engine.spawn_background(Duration::from_secs(1), Duration::from_secs(60));
        println!("instance on http://127.0.0.1:{port}/");
        servers.push((support::Server::spawn(listener, engine.router()), jobs));
    }
    let _ = tokio::signal::ctrl_c().await;
    for (server, jobs) in servers {
        server.stop().await?;
        jobs.shutdown().await;
    }
    bank.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tpe::core::{Amount, Currency};
    use tpe::engine::CheckoutRequest;

    use super::*;

    /// A checkout of 24,90 € for the demo customer.
    fn request() -> CheckoutRequest {
        CheckoutRequest {
            customer: support::customer("jeanne@example.fr"),
            amount: Amount::new(2490, Currency::EUR).expect("a valid amount"),
            description: "Panier de légumes".into(),
            item_count: 1,
            delivery: jiff::civil::date(2030, 1, 15),
            shop_order_id: None,
            language: None,
        }
    }

    /// The test database, or `None` (said loudly) when there is none and none is required.
    fn postgres_url() -> Option<String> {
        match std::env::var("TPE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                let required = std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1");
                assert!(
                    !required,
                    "REQUIRE_POSTGRES=1 but TPE_TEST_POSTGRES_URL is unset"
                );
                eprintln!(
                    "\n*** SKIPPED: TPE_TEST_POSTGRES_URL unset: the postgres_shop example did not run ***\n"
                );
                None
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_checkout_started_on_one_instance_is_validated_through_the_other() -> Result<(), Error>
    {
        let Some(url) = postgres_url() else {
            return Ok(());
        };
        let schema = format!("example_{}", std::process::id());
        let bank = support::start_bank().await?;
        let mailer = tpe::engine::MemoryMailer::new();
        // The public address is instance B's: the bank notifies B, the browser returns to B.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let public = format!("http://{}/", listener.local_addr()?);
        let a = instance(&bank, &url, &schema, Arc::new(mailer.clone()), &public).await?;
        let b = instance(&bank, &url, &schema, Arc::new(mailer.clone()), &public).await?;
        let server_b = support::Server::spawn(listener, b.router());

        let started = a
            .start_checkout(&tpe::paybox::Paybox::ID, request())
            .await?;
        let browser = reqwest::Client::new();
        let paid = support::pay_on_the_bank_page(&bank, &browser, &started.redirect).await?;
        assert!(paid.text().await?.contains("Paiement validé"));
        let checkout = a
            .checkout(&started.reference)
            .await?
            .ok_or("checkout lost")?;
        assert_eq!(checkout.status, tpe::core::CheckoutStatus::Valid);

        // Both relays run; the confirmation goes out once.
        for engine in [&a, &b, &a] {
            engine.run_relay_once(engine.now()).await?;
        }
        let to_customer = mailer
            .sent()
            .into_iter()
            .filter(|m| m.to == "jeanne@example.fr")
            .count();
        assert_eq!(to_customer, 1);

        server_b.stop().await?;
        bank.shutdown().await;
        let admin = sqlx::PgPool::connect(&url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await?;
        Ok(())
    }
}
