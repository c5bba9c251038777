//! Negatives: notebooks that hold nothing to report but look like they might. Credentials read
//! from the environment or a secret store, placeholders, redacted outputs, hashes and ids,
//! base64 payloads with key-like runs, tokenizer output, model names, numbers that resemble phone
//! numbers, documentation test cards and reserved example addresses. Every finding on one of
//! these is a false alarm (except an informational one on a lone author address, see `cases`).

use serde_json::{json, Value};

use crate::cases::Placed;
use crate::creds::armour;
use crate::gen::{self, Rng};
use crate::nb;
use nbguard::finding::Part;

pub struct Negative {
    pub category: &'static str,
    pub repeat: usize,
    pub tolerate_info: bool,
    pub make: fn(&mut Rng) -> (&'static str, Placed),
}

fn code(rng: &mut Rng, source: &str, outputs: Vec<Value>) -> Placed {
    Placed::cell(
        nb::code(rng, source, outputs, json!({})),
        Part::Source,
        None,
    )
}

fn md(rng: &mut Rng, source: &str) -> Placed {
    Placed::cell(nb::markdown(rng, source), Part::Source, None)
}

fn out_text(rng: &mut Rng, source: &str, text: &str) -> Placed {
    let o = nb::execute_result(rng, json!({"text/plain": nb::lines(text)}));
    code(rng, source, vec![o])
}

fn out_stream(rng: &mut Rng, source: &str, text: &str) -> Placed {
    let o = nb::stream("stdout", text);
    code(rng, source, vec![o])
}

/// Base64 of random bytes with a key-shaped run spliced in at a random place.
fn b64_with_run(rng: &mut Rng, len: usize) -> String {
    let mut s = rng.string(gen::BASE64, len);
    let run = match rng.below(4) {
        0 => rng.fill(&["AK", "IA{316}"].concat()),
        1 => rng.fill(&["AS", "IA{316}"].concat()),
        2 => rng
            .fill(&["AI", "za{u35}"].concat())
            .replace(['_', '-'], "Q"),
        _ => rng.fill("{b40}"),
    };
    let at = rng.range(10, len - 60);
    s.replace_range(at..at + run.len(), &run);
    s
}

fn env_lookups(rng: &mut Rng) -> (&'static str, Placed) {
    let s = *rng.pick(&[
        "import os\nfrom openai import OpenAI\n\nclient = OpenAI(api_key=os.environ[\"OPENAI_API_KEY\"])",
        "hf_token = os.getenv(\"HF_TOKEN\")\nlogin(token=hf_token)",
        "from getpass import getpass\n\npassword = getpass(\"Warehouse password: \")\nengine = create_engine(f\"postgresql://analyst:{password}@db.internal:5432/analytics\")",
        "from google.colab import userdata\n\nos.environ[\"HF_TOKEN\"] = userdata.get('HF_TOKEN')\ngenai.configure(api_key=userdata.get('GOOGLE_API_KEY'))",
        "token = dbutils.secrets.get(scope=\"prod\", key=\"databricks-token\")\npassword = dbutils.secrets.get(scope=\"prod\", key=\"snowflake-password\")",
        "import keyring\n\npassword = keyring.get_password(\"warehouse\", \"analyst\")\nconn = snowflake.connector.connect(user=\"analyst\", password=password, account=ACCOUNT)",
        "aws_access_key_id = os.environ[\"AWS_ACCESS_KEY_ID\"]\naws_secret_access_key = os.environ[\"AWS_SECRET_ACCESS_KEY\"]\ns3 = boto3.client(\"s3\", aws_access_key_id=aws_access_key_id, aws_secret_access_key=aws_secret_access_key)",
        "wandb.login(key=os.environ.get(\"WANDB_API_KEY\"))\nanthropic_client = anthropic.Anthropic()  # reads ANTHROPIC_API_KEY",
        "from azure.identity import DefaultAzureCredential\n\ncredential = DefaultAzureCredential()\nsecret = client.get_secret(\"storage-connection-string\").value",
        "%env OPENAI_API_KEY=$OPENAI_API_KEY\n!export HF_TOKEN=$(cat ~/.cache/huggingface/token)",
        "password = password\ntoken = args.token\nconn = connect(user=user, password=password)",
        "headers = {\"Authorization\": f\"Bearer {token}\"}\nurl = f\"postgresql://{user}:{pw}@{host}:5432/{db}\"",
        "secret_key = settings.SECRET_KEY\napi_key = config[\"openai\"][\"api_key\"]\npassword = getpass.getpass()",
    ]);
    ("code", code(rng, s, vec![]))
}

fn placeholders(rng: &mut Rng) -> (&'static str, Placed) {
    let s = *rng.pick(&[
        "openai.api_key = \"YOUR_API_KEY\"",
        "client = OpenAI(api_key=\"sk-...\")  # paste your key here",
        "HF_TOKEN = \"<your-hf-token>\"",
        "api_key = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
        "password = \"********\"",
        "DATABASE_URL = \"postgresql://${DB_USER}:${DB_PASSWORD}@db:5432/app\"",
        "token: \"{{ vault_token }}\"\npassword: \"{{ db_password }}\"",
        "conn = psycopg2.connect(host=\"localhost\", user=\"postgres\", password=\"changeme\")",
        "mysql_password = \"password\"",
        "engine = create_engine(\"postgresql://user:password@localhost:5432/mydb\")",
        "aws_secret_access_key = \"<secret>\"\naws_access_key_id = \"<key-id>\"",
        "GITHUB_TOKEN = \"ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\"",
        "stripe.api_key = \"sk_test_...\"",
        "%env WANDB_API_KEY=your-wandb-key-here",
    ]);
    let s = s.to_string();
    if rng.chance(30) {
        let text = format!("Replace the values before running:\n\n```python\n{s}\n```\n");
        return ("markdown", md(rng, &text));
    }
    ("code", code(rng, &s, vec![]))
}

fn aws_docs_example(rng: &mut Rng) -> (&'static str, Placed) {
    // The key pair from the AWS documentation, assembled so that it is not a literal here.
    let id = ["AKIA", "IOSFODNN7", "EXAMPLE"].concat();
    let secret = ["wJalrXUtnFEMI", "/K7MDENG/bPxRfiCY", "EXAMPLEKEY"].concat();
    let text = format!("%%writefile ~/.aws/credentials\n[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    ("code", code(rng, &text, vec![]))
}

fn redacted(rng: &mut Rng) -> (&'static str, Placed) {
    let tail = rng.string(gen::ALNUM, 4);
    let text = match rng.below(4) {
        0 => format!("OPENAI_API_KEY=sk-proj-****************************{tail}\nHF_TOKEN=hf_******************************{tail}\n"),
        1 => format!("Loaded credentials: {{'api_key': 'sk-****{tail}', 'org': 'org-****'}}\n"),
        2 => "Authenticated as ci-bot using token ghp_************************************ (expires in 29 days)\n".to_string(),
        _ => format!("aws_secret_access_key = ****************{tail}\npassword = [REDACTED]\n"),
    };
    (
        "stream",
        out_stream(rng, "print_config(redact=True)", &text),
    )
}

fn hashes(rng: &mut Rng) -> (&'static str, Placed) {
    match rng.below(5) {
        0 => {
            let mut t = String::new();
            for _ in 0..6 {
                t.push_str(&format!(
                    "{} {}\n",
                    rng.string(gen::HEX, 7),
                    rng.pick(&[
                        "Fix leakage in target encoding",
                        "Add churn features",
                        "Bump scikit-learn to 1.4",
                        "Merge branch 'main' into feature/cv"
                    ])
                ));
            }
            ("stream", out_stream(rng, "!git log --oneline -6", &t))
        }
        1 => {
            let t = format!(
                "Collecting torch==2.3.0\n  Downloading torch-2.3.0-cp311-cp311-manylinux1_x86_64.whl (779.1 MB)\nSuccessfully installed torch-2.3.0\n# torch==2.3.0 --hash=sha256:{} --hash=sha256:{}\n",
                rng.string(gen::HEX, 64),
                rng.string(gen::HEX, 64)
            );
            (
                "stream",
                out_stream(
                    rng,
                    "!pip install torch==2.3.0 --require-hashes -r requirements.txt",
                    &t,
                ),
            )
        }
        2 => {
            let src = format!(
                "EXPECTED_MD5 = \"{}\"\nEXPECTED_SHA1 = \"{}\"\nassert hashlib.sha256(data).hexdigest() == \"{}\"",
                rng.string(gen::HEX, 32),
                rng.string(gen::HEX, 40),
                rng.string(gen::HEX, 64)
            );
            ("code", code(rng, &src, vec![]))
        }
        3 => {
            let t = format!(
                "commit {}\nAuthor: CI <ci@users.noreply.github.com>\nDate:   Fri May 3 10:12:44 2024 +0000\n\n    Retrain on April data\n",
                rng.string(gen::HEX, 40)
            );
            ("stream", out_stream(rng, "!git log -1", &t))
        }
        _ => {
            let text = format!("'{}'", rng.string(gen::HEX, 64));
            (
                "repr",
                out_text(
                    rng,
                    "hashlib.sha256(open(path, 'rb').read()).hexdigest()",
                    &text,
                ),
            )
        }
    }
}

fn ids(rng: &mut Rng) -> (&'static str, Placed) {
    match rng.below(4) {
        0 => {
            let src = format!(
                "run_id = \"{}\"\nmodel_uri = f\"runs:/{{run_id}}/model\"",
                rng.string(gen::HEX, 32)
            );
            ("code", code(rng, &src, vec![]))
        }
        1 => {
            let t = format!("<Run: data=<RunData: metrics={{'auc': 0.91}}>, info=<RunInfo: experiment_id='{}', run_id='{}', run_uuid='{}', status='FINISHED'>>", rng.range(100_000_000, 999_999_999), rng.string(gen::HEX, 32), rng.uuid());
            ("repr", out_text(rng, "mlflow.get_run(run_id)", &t))
        }
        2 => {
            let t = format!("wandb: Syncing run {}\nwandb:  View run at https://wandb.ai/ml-team/churn/runs/{}\nwandb: Run data is saved locally in ./wandb/run-20240503_101244-{}\n", rng.pick(&["dainty-sky-12", "fresh-wave-7"]), rng.string(gen::LOWER_DIGITS, 8), rng.string(gen::LOWER_DIGITS, 8));
            (
                "stream",
                out_stream(rng, "wandb.init(project=\"churn\")", &t),
            )
        }
        _ => {
            let src = format!("DATASET_ID = \"{}\"\nproject_number = \"{}\"\nbucket = \"sagemaker-us-east-1-{}\"\nrole = \"arn:aws:iam::{}:role/service-role/AmazonSageMaker-ExecutionRole\"", rng.uuid(), rng.range(100_000_000, 999_999_999), rng.fill("{d12}"), rng.fill("{d12}"));
            ("code", code(rng, &src, vec![]))
        }
    }
}

fn images(rng: &mut Rng) -> (&'static str, Placed) {
    let b64 = b64_with_run(rng, 3000);
    match rng.below(4) {
        0 => {
            let o = nb::display(
                json!({"image/png": format!("iVBORw0KGgoAAAANSUhEUgAA{b64}\n"), "text/plain": ["<Figure size 800x600 with 2 Axes>"]}),
            );
            (
                "image-output",
                code(rng, "plot_confusion_matrix(cm)", vec![o]),
            )
        }
        1 => {
            let html = format!(
                "<div><img src=\"data:image/png;base64,iVBORw0KGgo{b64}\" width=\"480\"/></div>"
            );
            let o = nb::display(
                json!({"text/html": nb::lines(&html), "text/plain": ["<IPython.core.display.HTML object>"]}),
            );
            ("html-data-uri", code(rng, "HTML(render_report())", vec![o]))
        }
        2 => {
            let text = format!("Architecture overview:\n\n![diagram](data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ{b64})\n");
            ("markdown-data-uri", md(rng, &text))
        }
        _ => {
            let cell = json!({"cell_type": "markdown", "id": rng.string(gen::HEX, 8), "metadata": {}, "source": ["![pipeline.png](attachment:pipeline.png)"], "attachments": {"pipeline.png": {"image/png": format!("iVBORw0KGgo{b64}")}}});
            ("attachment", Placed::cell(cell, Part::Source, None))
        }
    }
}

fn base64_payload(rng: &mut Rng) -> (&'static str, Placed) {
    let b64 = b64_with_run(rng, 400);
    let t = format!("payload preview: {}...\n", &b64[..300]);
    ("stream", out_stream(rng, "payload = base64.b64encode(img_bytes).decode()\nprint('payload preview:', payload[:300] + '...')", &t))
}

fn tokenizer(rng: &mut Rng) -> (&'static str, Placed) {
    match rng.below(3) {
        0 => {
            let n = rng.range(12, 30);
            let ids: Vec<String> = (0..n).map(|_| rng.range(999, 30_000).to_string()).collect();
            let t = format!(
                "{{'input_ids': [101, {}, 102], 'token_type_ids': [{}], 'attention_mask': [{}]}}",
                ids.join(", "),
                vec!["0"; n + 2].join(", "),
                vec!["1"; n + 2].join(", ")
            );
            (
                "repr",
                out_text(
                    rng,
                    "tokenizer(\"The quick brown fox jumps over the lazy dog\")",
                    &t,
                ),
            )
        }
        1 => {
            let t = "['▁The', '▁quick', '▁brown', '▁fox', '▁jump', 's', '▁over', '▁the', '▁lazy', '▁dog', '.', 'Ġtoken', 'ization', '##ing', '<|endoftext|>']";
            (
                "repr",
                out_text(rng, "tokenizer.convert_ids_to_tokens(ids)", t),
            )
        }
        _ => {
            let vals: Vec<String> = (0..8)
                .map(|_| format!("{:.8}", (rng.below(2_000_000) as f64 / 1_000_000.0) - 1.0))
                .collect();
            let t = format!(
                "tensor([[{}]], device='cuda:0', grad_fn=<AddmmBackward0>)",
                vals.join(", ")
            );
            ("repr", out_text(rng, "model(**inputs).logits", &t))
        }
    }
}

fn model_names(rng: &mut Rng) -> (&'static str, Placed) {
    let rev = rng.string(gen::HEX, 40);
    let src = format!(
        "MODEL_ID = \"{}\"\nEMBEDDER = \"sentence-transformers/all-MiniLM-L6-v2\"\ntokenizer = AutoTokenizer.from_pretrained(MODEL_ID, revision=\"{rev}\")\ncache = \"~/.cache/huggingface/hub/models--meta-llama--Llama-2-7b-hf/snapshots/{rev}\"\nresp = client.chat.completions.create(model=\"gpt-4o-2024-08-06\")\nmsg = anthropic_client.messages.create(model=\"claude-3-5-sonnet-20241022\", max_tokens=1024)",
        rng.pick(&["meta-llama/Llama-2-7b-hf", "mistralai/Mistral-7B-Instruct-v0.2", "openai/whisper-large-v3", "google/gemma-2-9b-it"])
    );
    ("code", code(rng, &src, vec![]))
}

fn numbers(rng: &mut Rng) -> (&'static str, Placed) {
    match rng.below(4) {
        0 => {
            let rows: Vec<Vec<String>> = (0..6)
                .map(|_| {
                    vec![
                        format!(
                            "{}",
                            rng.range(1_700_000_000, 1_720_000_000) as u64 * 1000
                                + rng.below(1000) as u64
                        ),
                        format!(
                            "2024-05-{:02} {:02}:{:02}:{:02}.{:06}",
                            rng.range(1, 28),
                            rng.range(0, 23),
                            rng.range(0, 59),
                            rng.range(0, 59),
                            rng.range(0, 999_999)
                        ),
                        format!("{:.7}", 37.0 + rng.below(1_000_000) as f64 / 1e6),
                        format!("{:.7}", -122.0 - rng.below(1_000_000) as f64 / 1e6),
                    ]
                })
                .collect();
            let o = nb::df_output(rng, &["ts_ms", "timestamp", "lat", "lon"], &rows);
            ("table", code(rng, "events.head(6)", vec![o]))
        }
        1 => {
            let vals: Vec<String> = (0..12)
                .map(|_| format!("{}.{:08}", rng.range(100, 999), rng.range(0, 99_999_999)))
                .collect();
            let t = format!("array([{}])", vals.join(", "));
            ("repr", out_text(rng, "np.sort(samples)[:12]", &t))
        }
        2 => {
            let t = format!("ISBN 978-0-{}-{}-{}\nInvoice INV-2024-{:06}\nOrder placed 2024-05-03T10:12:44Z, tracking 1Z{}\n", rng.range(100, 999), rng.range(10_000, 99_999), rng.range(0, 9), rng.range(1, 999_999), rng.fill("{U16}"));
            (
                "stream",
                out_stream(rng, "print(describe_order(order))", &t),
            )
        }
        _ => {
            let t = format!("Gene ENSG{:011}  chr7:{}-{}  p=1.{}e-08\nscipy.stats.ttest_ind: statistic=4.{}, pvalue=0.000{}\n", rng.range(1, 99_999), rng.range(10_000_000, 99_999_999), rng.range(10_000_000, 99_999_999), rng.range(100, 999), rng.range(1_000_000, 9_999_999), rng.range(100_000, 999_999));
            ("stream", out_stream(rng, "report(results)", &t))
        }
    }
}

fn digests(rng: &mut Rng) -> (&'static str, Placed) {
    match rng.below(4) {
        0 => {
            let t = format!("Downloading and preparing dataset imdb/plain_text to /root/.cache/huggingface/datasets/imdb/plain_text/1.0.0/{}...\nDataset imdb downloaded and prepared. Checksum sha256:{}\n", rng.string(gen::HEX, 64), rng.string(gen::HEX, 64));
            ("stream", out_stream(rng, "ds = load_dataset(\"imdb\")", &t))
        }
        1 => {
            let t = format!(
                "latest: digest: sha256:{} size: 2841\nimage = \"python@sha256:{}\"\n",
                rng.string(gen::HEX, 64),
                rng.string(gen::HEX, 64)
            );
            (
                "stream",
                out_stream(
                    rng,
                    "!docker push registry.internal/churn-scorer:latest",
                    &t,
                ),
            )
        }
        2 => {
            let css = format!("<style>.bk-root .bk-{} {{ color: #{}; background: #{}; }}</style><div id=\"{}\" class=\"bk-root\"></div>", rng.string(gen::LOWER_DIGITS, 8), rng.string(gen::HEX, 6), rng.string(gen::HEX, 6), rng.uuid());
            let o = nb::display(
                json!({"text/html": nb::lines(&css), "text/plain": ["<bokeh.plotting.figure at 0x7f3b2c1d9e50>"]}),
            );
            ("html", code(rng, "show(p)", vec![o]))
        }
        _ => {
            let js = format!("(function(root){{var docs_json={{\"{}\":{{\"roots\":{{\"references\":[{{\"id\":\"{}\",\"type\":\"Plot\"}}]}}}}}};var render_items=[{{\"docid\":\"{}\",\"elementid\":\"{}\"}}];root.Bokeh.embed.embed_items_notebook(docs_json,render_items);var t=\"{}\";}})(window);", rng.uuid(), rng.fill("p{d4}"), rng.uuid(), rng.uuid(), rng.string(gen::BASE64, 120));
            let o = nb::display(
                json!({"application/javascript": nb::lines(&js), "application/vnd.bokehjs_exec.v0+json": {"id": rng.uuid()}}),
            );
            ("javascript", code(rng, "show(p)", vec![o]))
        }
    }
}

fn widget_state(rng: &mut Rng) -> (&'static str, Placed) {
    let mut models = serde_json::Map::new();
    for _ in 0..3 {
        models.insert(rng.string(gen::HEX, 32), json!({"model_module": "@jupyter-widgets/controls", "model_name": "FloatProgressModel", "model_module_version": "1.5.0", "state": {"bar_style": "success", "max": 1000, "value": 1000, "layout": format!("IPY_MODEL_{}", rng.string(gen::HEX, 32))}}));
    }
    let meta = json!({"application/vnd.jupyter.widget-state+json": {"state": models, "version_major": 2, "version_minor": 0}});
    (
        "widget-metadata",
        Placed {
            cell: None,
            meta: Some(("widgets", meta)),
            v3: None,
            part: Part::Metadata,
            output: None,
            escape: None,
            also_accept: &[],
        },
    )
}

fn colab_metadata(rng: &mut Rng) -> (&'static str, Placed) {
    let meta = json!({"id": rng.string(gen::ALNUM, 12), "colab": {"base_uri": "https://localhost:8080/", "height": 391}, "outputId": rng.uuid(), "executionInfo": {"status": "ok", "timestamp": 1714731164123u64, "user_tz": -120, "elapsed": 5123, "user": {"displayName": "", "userId": ""}}});
    (
        "cell-metadata",
        Placed::cell(nb::code(rng, "train()", vec![], meta), Part::Metadata, None),
    )
}

fn toc_anchors(rng: &mut Rng) -> (&'static str, Placed) {
    let text = "## Contents\n\n1. [sk-learn pipeline with a column transformer](#sk-learn-pipeline-with-a-column-transformer-and-grid-search)\n2. [Verify your task and the labels](#Verify-your-task-and-the-labels-before-training)\n3. [Build a Dask container for processing](#Build-a-Dask-container-for-feature-processing-jobs)\n";
    ("markdown", md(rng, text))
}

fn test_cards(rng: &mut Rng) -> (&'static str, Placed) {
    let text = *rng.pick(&[
        "To try checkout in test mode, use the card `4242 4242 4242 4242` with any future expiry date and any CVC.\n",
        "Stripe test cards: 4000 0566 5566 5556 (debit), 5555 5555 5555 4444 (Mastercard), 3782 822463 10005 (Amex).\n",
        "The sandbox accepts 4111 1111 1111 1111 (Visa) and 6011 1111 1111 1117 (Discover).\n",
    ]);
    ("markdown", md(rng, text))
}

fn example_emails(rng: &mut Rng) -> (&'static str, Placed) {
    let s = *rng.pick(&[
        "!git config --global user.email \"you@example.com\"\n!git config --global user.name \"Your Name\"",
        "send_report(to=[\"analyst@example.com\", \"team@example.org\"], subject=\"Weekly churn\")",
        "users = pd.DataFrame({\"email\": [\"alice@example.com\", \"bob@example.net\", \"carol@example.org\"], \"plan\": [\"pro\", \"free\", \"team\"]})",
    ]);
    ("code", code(rng, s, vec![]))
}

fn author_email(rng: &mut Rng) -> (&'static str, Placed) {
    let (f, l) = gen::person(rng);
    let text = format!(
        "# Churn model v2\n\nAuthor: {f} {l} ({}.{}@university.edu)\n\nLast updated 2024-05-03.\n",
        f.to_lowercase(),
        l.to_lowercase()
    );
    ("markdown", md(rng, &text))
}

fn public_keys(rng: &mut Rng) -> (&'static str, Placed) {
    let body = rng.string(gen::BASE64, 360);
    let text = format!("{}\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{}\n{}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} deploy@ci\n", armour("BEGIN", "PUBLIC KEY"), &body[..200], armour("END", "PUBLIC KEY"), rng.string(gen::BASE64, 43));
    (
        "stream",
        out_stream(rng, "!cat keys/verify.pub ~/.ssh/id_ed25519.pub", &text),
    )
}

fn public_ids(rng: &mut Rng) -> (&'static str, Placed) {
    let src = format!(
        "CLIENT_ID = \"{}-{}.apps.googleusercontent.com\"\nSTRIPE_PUBLISHABLE_KEY = \"pk_test_{}\"\nTENANT_ID = \"{}\"\nSENTRY_ENVIRONMENT = \"staging\"\nREGION = \"eu-west-1\"",
        rng.fill("{d12}"),
        rng.string(gen::LOWER_DIGITS, 32),
        rng.string(gen::ALNUM, 24),
        rng.uuid()
    );
    ("code", code(rng, &src, vec![]))
}

fn notebook_v3_plain(rng: &mut Rng) -> (&'static str, Placed) {
    let cell = nb::code3(
        "df.describe()",
        vec![nb::pyout3(
            &format!(
                "count  {}.000000\nmean   {}.{:06}\n",
                rng.range(100, 9999),
                rng.range(1, 999),
                rng.range(0, 999_999)
            ),
            4,
        )],
        4,
    );
    (
        "nbformat3",
        Placed {
            cell: None,
            meta: None,
            v3: Some(cell),
            part: Part::Source,
            output: None,
            escape: None,
            also_accept: &[],
        },
    )
}

fn env_settings(rng: &mut Rng) -> (&'static str, Placed) {
    let s = *rng.pick(&[
        "%env CUDA_VISIBLE_DEVICES=0\n%env TOKENIZERS_PARALLELISM=false\n%env PYTHONHASHSEED=0",
        "%env WANDB_PROJECT=churn-experiments\n%env WANDB_LOG_MODEL=checkpoint\n%env HF_HUB_ENABLE_HF_TRANSFER=1",
        "!export HF_HOME=/mnt/cache/huggingface && export TRANSFORMERS_OFFLINE=1",
        "%env OPENAI_API_BASE=https://contoso-ml.openai.azure.com/\n%env OPENAI_API_VERSION=2024-02-01\n%env MAX_TOKENS=4096",
        "%env SECRET_NAME=prod/warehouse/readonly\n%env TOKEN_CACHE_DIR=/tmp/tokens\n%env PASSWORD_FILE=/run/secrets/db_password",
        "os.environ[\"MLFLOW_TRACKING_URI\"] = \"databricks\"\nos.environ[\"AWS_DEFAULT_REGION\"] = \"eu-west-1\"\nos.environ[\"TOKENIZERS_PARALLELISM\"] = \"false\"",
    ]);
    ("code", code(rng, s, vec![]))
}

fn urls_without_credentials(rng: &mut Rng) -> (&'static str, Placed) {
    let s = *rng.pick(&[
        "engine = create_engine(\"sqlite:///data/local.db\")\ncache = redis.Redis.from_url(\"redis://localhost:6379/0\")",
        "engine = create_engine(\"postgresql://analyst@db.internal:5432/analytics\")  # password from ~/.pgpass",
        "client = MongoClient(\"mongodb://localhost:27017/\")\nconn = pika.BlockingConnection(pika.URLParameters(\"amqp://localhost:5672/%2F\"))",
        "!git clone https://github.com/huggingface/transformers.git\n!pip install git+https://github.com/openai/whisper.git@ba3f3cd54b0e5b8ce1ab3de13e32122d0d5f98ab",
        "!git remote add origin ssh://git@github.com/acme-ml/churn.git\nREPO = \"https://huggingface.co/datasets/imdb/resolve/main/plain_text/train-00000-of-00001.parquet\"",
        "jdbc_url = \"jdbc:postgresql://db.internal:5432/analytics?ssl=true&sslmode=require\"\nodbc = \"Driver={ODBC Driver 18 for SQL Server};Server=tcp:sql.internal,1433;Database=dw;Authentication=ActiveDirectoryMsi;\"",
    ]);
    ("code", code(rng, s, vec![]))
}

fn azureml_ids(rng: &mut Rng) -> (&'static str, Placed) {
    let src = format!(
        "subscription_id = \"{}\"\nresource_group = \"rg-ml-prod\"\nworkspace = \"mlw-churn-{}\"\nml_client = MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace)",
        rng.uuid(),
        rng.string(gen::LOWER_DIGITS, 5)
    );
    let out = format!("Found the config file in: /config.json\nClass DeploymentTemplateOperations: This is an experimental class\nworkspace id: {}\n", rng.uuid());
    ("stream", out_stream(rng, &src, &out))
}

fn special_tokens(rng: &mut Rng) -> (&'static str, Placed) {
    let t = "{'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>', 'pad_token': '[PAD]', 'additional_special_tokens': ['<|im_start|>', '<|im_end|>']}";
    if rng.chance(50) {
        return ("repr", out_text(rng, "tokenizer.special_tokens_map", t));
    }
    let src = "tokenizer.pad_token = tokenizer.eos_token\nmax_tokens = 1024\ntoken_type_ids = batch[\"token_type_ids\"]\npassword_min_length = 12\nsecret_name = \"churn-db-credentials\"";
    ("code", code(rng, src, vec![]))
}

fn genomic_intervals(rng: &mut Rng) -> (&'static str, Placed) {
    let mut t = String::from("region\tgene\tlog2fc\tpadj\n");
    for _ in 0..20 {
        let start = rng.range(10_000_000, 99_999_999);
        t.push_str(&format!(
            "chr{}:{}-{}\tENSG{:011}\t{:.3}\t{:.2e}\n",
            rng.range(1, 22),
            start,
            start + rng.range(1000, 9_999_999),
            rng.range(1, 99_999),
            rng.below(4000) as f64 / 1000.0 - 2.0,
            rng.below(1000) as f64 * 1e-9
        ));
    }
    (
        "stream",
        out_stream(rng, "!head -n 21 results/deseq2_significant.tsv", &t),
    )
}

/// Deployment commands and shell lines that name secrets kept in a secret manager.
fn secret_references(rng: &mut Rng) -> (&'static str, Placed) {
    let s = *rng.pick(&[
        "!gcloud run deploy api --image $IMAGE \\\n  --set-secrets \"WAREHOUSE_PASSWORD=warehouse-password-${PROJECT_ID}:1\" \\\n  --region europe-west1",
        "%%bash\nexport WAREHOUSE_PASSWORD=$(gcloud secrets versions access latest --secret=\"warehouse-password-main\")\npsql -h 10.0.0.5 -U etl",
        "!docker buildx build --secret id=HF_TOKEN,env=HF_TOKEN --tag trainer:latest .",
        "!gcloud secrets versions access latest --secret=GH_TOKEN > gh_token.txt",
        "deploy = f\"gcloud run deploy api --update-secrets=API_TOKEN={secret_name}:latest\"\nsubprocess.run(deploy, shell=True, check=True)",
        "cmd = 'SECRETS_FLAG=\"--update-secrets=' + all_secrets + '\"'\nprint(cmd)",
        "DB_PASSWORD = secret_client.access_secret_version(name=\"projects/ml-prod/secrets/db-password/versions/latest\").payload.data",
    ]);
    ("code", code(rng, s, vec![]))
}

/// Pages and brochures loaded into a notebook: prose with business contact addresses.
fn scraped_documents(rng: &mut Rng) -> (&'static str, Placed) {
    let text = *rng.pick(&[
        "Claims and service\nFor claims write to care@harbor-mutual.co.in; complaints go to grievance@harbor-mutual.co.in.\nCall centre 1800 200 4411 (toll free), Monday to Saturday.\nRegistered office: 4th floor, Marine Lines, Mumbai 400 020.\n",
        "Contact us\nSales: sales@orbit-analytics.io\nSupport: support@orbit-analytics.io\nPress: press@orbit-analytics.io\nWe answer within two working days.\n",
        "Policy wording, section 9: the policyholder may write to info@lumen-insure.example.org or to the ombudsman office listed in annexure II.\n",
    ]);
    (
        "stream-document",
        out_stream(
            rng,
            "docs = loader.load()\nprint(docs[0].page_content)",
            text,
        ),
    )
}

/// A display output that embeds a minified library with error-code tables and string-built URLs.
fn minified_script(rng: &mut Rng) -> (&'static str, Placed) {
    let mut js =
        String::from("<script type=\"text/javascript\">!function(e,t){\"use strict\";var n={");
    for i in 0..120 {
        js.push_str(&format!("ERR_{i}:\"auth/error-{i}\","));
    }
    js.push_str("INVALID_PASSWORD:\"wrong-password\",MISSING_PASSWORD:\"missing-password\"};");
    js.push_str("function r(o,z,x){o.params.push(\"access_token=\"+(x||z.ACCESS_TOKEN||\"\"))}");
    js.push_str("var s={apiKey:e.apiKey,password:t.password||\"\"};}(window,{});</script>\n");
    let o = nb::display(
        json!({"text/html": nb::lines(&js), "text/plain": ["<IPython.core.display.HTML object>"]}),
    );
    (
        "html-script",
        code(rng, "display(HTML(widget_html))", vec![o]),
    )
}

pub fn all() -> Vec<Negative> {
    let n = |category, repeat, make| Negative {
        category,
        repeat,
        tolerate_info: false,
        make,
    };
    vec![
        n("env-lookup", 30, env_lookups),
        n("placeholder", 30, placeholders),
        n("aws-docs-example", 4, aws_docs_example),
        n("redacted", 16, redacted),
        n("hash", 25, hashes),
        n("id", 20, ids),
        n("base64-image", 30, images),
        n("base64-payload", 8, base64_payload),
        n("tokenizer", 15, tokenizer),
        n("model-name", 10, model_names),
        n("number", 24, numbers),
        n("digest-css-js", 20, digests),
        n("widget-state", 6, widget_state),
        n("colab-metadata", 6, colab_metadata),
        n("toc-anchor", 4, toc_anchors),
        n("test-card", 9, test_cards),
        n("example-email", 9, example_emails),
        Negative {
            category: "author-email",
            repeat: 8,
            tolerate_info: true,
            make: author_email,
        },
        n("public-key", 6, public_keys),
        n("public-id", 8, public_ids),
        n("nbformat3-plain", 4, notebook_v3_plain),
        n("env-settings", 18, env_settings),
        n("url-without-credentials", 18, urls_without_credentials),
        n("azureml-ids", 8, azureml_ids),
        n("genomic-intervals", 8, genomic_intervals),
        n("tokenizer-special-tokens", 10, special_tokens),
        n("secret-reference", 14, secret_references),
        n("scraped-document", 6, scraped_documents),
        n("minified-script", 4, minified_script),
    ]
}
