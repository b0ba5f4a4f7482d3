//! The tour through the public API: every story of LIFECYCLE.md on both providers, each row
//! as the lifecycle says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tpe_demo::DemoProvider;
use tpe_demo::tour::{Story, Verdict, run_tour};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_story_on_both_providers_is_as_the_lifecycle_says() {
    let dir = std::env::temp_dir().join(format!("tpe-demo-tour-test-{}", std::process::id()));
    let report = run_tour(&dir).await.unwrap();
    println!("{}", report.table());
    assert_eq!(report.rows.len(), Story::ALL.len() * 2);
    for r in &report.rows {
        match &r.verdict {
            Verdict::Ok => {}
            // The only rows allowed to be skipped: the Stripe-like status query needs a session
            // lookup by reference the mock bank may not serve; the reason is printed.
            Verdict::NotExpressible(why) => assert!(
                r.provider == DemoProvider::StripeLike
                    && matches!(
                        r.story,
                        Story::AbandonedThenRetracted
                            | Story::PaidAfterRetraction
                            | Story::LostThenReconciled
                    ),
                "{} / {} skipped: {why}",
                r.story.label(),
                r.provider.label()
            ),
            Verdict::Differs(why) => {
                panic!(
                    "{} / {}: {}",
                    r.story.label(),
                    r.provider.label(),
                    why.join("; ")
                )
            }
        }
    }
    assert!(report.all_ok());
    // Every story is played at least on Paybox.
    assert!(
        report
            .rows
            .iter()
            .filter(|r| r.provider == DemoProvider::Paybox)
            .all(|r| r.verdict == Verdict::Ok)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
