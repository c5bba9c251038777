//! Synthetic credentials, one generator per provider family, each in the exact shape the provider
//! issues (prefix, alphabet, length, checksum), random per case. A family also says how people
//! hold it (environment variable, constructor call, credentials file) and which rule ids count as
//! finding it.
//!
//! No complete key appears in this file: formats are templates, and literal markers that a
//! scanner keys on (PEM armour, token prefixes with checksums) are assembled at run time.

use crate::gen::{self, Rng};

/// One planted credential.
#[derive(Debug, Clone)]
pub struct Cred {
    /// Substrings of the rule ids that count as recalling it.
    pub accept: &'static [&'static str],
    /// The secret itself.
    pub value: String,
    /// Companion values written before it (a key id before its secret, a user before a key).
    pub extra: Vec<(String, String)>,
    /// The environment variable people keep it in.
    pub env: String,
    /// How the provider is named in prose.
    pub provider: &'static str,
    /// A line of code that uses the value.
    pub ctor: String,
    /// The credentials file form: path and content.
    pub file: Option<(String, String)>,
    /// The value spans lines: it only goes where multi-line text is natural.
    pub multiline: bool,
    /// The value does not name its provider (no distinctive prefix): only its surroundings tell
    /// what it is.
    pub keyless: bool,
}

impl Cred {
    /// Every value a correct finding may report.
    pub fn values(&self) -> Vec<String> {
        let mut v = vec![self.value.clone()];
        v.extend(self.extra.iter().map(|(_, x)| x.clone()));
        v
    }
}

/// A family of credentials: how to make one.
pub struct Family {
    pub name: &'static str,
    pub make: Box<dyn Fn(&mut Rng) -> Cred>,
}

/// A token family described by a format template.
struct Simple {
    name: &'static str,
    accept: &'static [&'static str],
    template: &'static str,
    env: &'static str,
    provider: &'static str,
    /// `{v}` stands for the value.
    ctor: &'static str,
}

const SIMPLE: &[Simple] = &[
    Simple { name: "openai-legacy", accept: &["secret.openai."], template: "sk-{a20}T3BlbkFJ{a20}", env: "OPENAI_API_KEY", provider: "OpenAI", ctor: "client = OpenAI(api_key=\"{v}\")" },
    Simple { name: "openai-project", accept: &["secret.openai."], template: "sk-proj-{u74}T3BlbkFJ{u74}", env: "OPENAI_API_KEY", provider: "OpenAI", ctor: "client = OpenAI(api_key=\"{v}\", organization=\"org-Yq3mV0cXh1pLk2WzD9sTfJ4e\")" },
    Simple { name: "openai-svcacct", accept: &["secret.openai."], template: "sk-svcacct-{u74}T3BlbkFJ{u74}", env: "OPENAI_API_KEY", provider: "OpenAI", ctor: "llm = ChatOpenAI(model=\"gpt-4o-mini\", temperature=0, openai_api_key=\"{v}\")" },
    Simple { name: "openai-admin", accept: &["secret.openai."], template: "sk-admin-{u74}T3BlbkFJ{u74}", env: "OPENAI_ADMIN_KEY", provider: "OpenAI", ctor: "r = requests.get(\"https://api.openai.com/v1/organization/users\", headers={\"Authorization\": \"Bearer {v}\"})" },
    Simple { name: "anthropic", accept: &["secret.anthropic."], template: "sk-ant-api03-{u93}AA", env: "ANTHROPIC_API_KEY", provider: "Anthropic", ctor: "client = anthropic.Anthropic(api_key=\"{v}\")" },
    Simple { name: "huggingface", accept: &["secret.huggingface."], template: "hf_{L34}", env: "HF_TOKEN", provider: "Hugging Face", ctor: "login(token=\"{v}\", add_to_git_credential=True)" },
    Simple { name: "cohere", accept: &["secret.cohere."], template: "{a40}", env: "COHERE_API_KEY", provider: "Cohere", ctor: "co = cohere.ClientV2(api_key=\"{v}\")" },
    Simple { name: "mistral", accept: &["secret.mistral."], template: "{a32}", env: "MISTRAL_API_KEY", provider: "Mistral", ctor: "client = Mistral(api_key=\"{v}\")" },
    Simple { name: "groq", accept: &["secret.groq."], template: "gsk_{a52}", env: "GROQ_API_KEY", provider: "Groq", ctor: "client = Groq(api_key=\"{v}\")" },
    Simple { name: "replicate", accept: &["secret.replicate."], template: "r8_{a37}", env: "REPLICATE_API_TOKEN", provider: "Replicate", ctor: "rep = replicate.Client(api_token=\"{v}\")" },
    Simple { name: "together", accept: &["secret.together."], template: "tgp_v1_{u43}", env: "TOGETHER_API_KEY", provider: "Together", ctor: "client = Together(api_key=\"{v}\")" },
    Simple { name: "perplexity", accept: &["secret.perplexity."], template: "pplx-{a48}", env: "PPLX_API_KEY", provider: "Perplexity", ctor: "client = OpenAI(api_key=\"{v}\", base_url=\"https://api.perplexity.ai\")" },
    Simple { name: "wandb", accept: &["secret.wandb."], template: "{h40}", env: "WANDB_API_KEY", provider: "Weights & Biases", ctor: "wandb.login(key=\"{v}\")" },
    Simple { name: "comet", accept: &["secret.comet."], template: "{a25}", env: "COMET_API_KEY", provider: "Comet", ctor: "experiment = Experiment(api_key=\"{v}\", project_name=\"churn\", workspace=\"ml-team\")" },
    Simple { name: "pinecone", accept: &["secret.pinecone."], template: "pcsk_{a5}_{a64}", env: "PINECONE_API_KEY", provider: "Pinecone", ctor: "pc = Pinecone(api_key=\"{v}\")" },
    Simple { name: "langsmith", accept: &["secret.langsmith.", "secret.langchain."], template: "lsv2_pt_{h32}_{h10}", env: "LANGCHAIN_API_KEY", provider: "LangSmith", ctor: "ls_client = Client(api_key=\"{v}\")" },
    Simple { name: "deepseek", accept: &["secret.deepseek."], template: "sk-{h32}", env: "DEEPSEEK_API_KEY", provider: "DeepSeek", ctor: "client = OpenAI(api_key=\"{v}\", base_url=\"https://api.deepseek.com\")" },
    Simple { name: "xai", accept: &["secret.xai."], template: "xai-{a80}", env: "XAI_API_KEY", provider: "xAI", ctor: "client = OpenAI(api_key=\"{v}\", base_url=\"https://api.x.ai/v1\")" },
    Simple { name: "fireworks", accept: &["secret.fireworks."], template: "fw_{a24}", env: "FIREWORKS_API_KEY", provider: "Fireworks", ctor: "llm = Fireworks(api_key=\"{v}\")" },
    Simple { name: "openrouter", accept: &["secret.openrouter."], template: "sk-or-v1-{h64}", env: "OPENROUTER_API_KEY", provider: "OpenRouter", ctor: "client = OpenAI(base_url=\"https://openrouter.ai/api/v1\", api_key=\"{v}\")" },
    Simple { name: "nvidia", accept: &["secret.nvidia."], template: "nvapi-{u64}", env: "NVIDIA_API_KEY", provider: "NVIDIA", ctor: "client = OpenAI(base_url=\"https://integrate.api.nvidia.com/v1\", api_key=\"{v}\")" },
    Simple { name: "tavily", accept: &["secret.tavily."], template: "tvly-dev-{a32}", env: "TAVILY_API_KEY", provider: "Tavily", ctor: "tavily = TavilyClient(api_key=\"{v}\")" },
    Simple { name: "elevenlabs", accept: &["secret.elevenlabs."], template: "sk_{h48}", env: "ELEVENLABS_API_KEY", provider: "ElevenLabs", ctor: "client = ElevenLabs(api_key=\"{v}\")" },
    Simple { name: "llamacloud", accept: &["secret.llamaindex."], template: "llx-{a48}", env: "LLAMA_CLOUD_API_KEY", provider: "LlamaCloud", ctor: "parser = LlamaParse(api_key=\"{v}\", result_type=\"markdown\")" },
    Simple { name: "gcp-api-key", accept: &["secret.gcp.", "secret.google.", "secret.firebase."], template: "AIza{u35}", env: "GOOGLE_API_KEY", provider: "Gemini", ctor: "genai.configure(api_key=\"{v}\")" },
    Simple { name: "gcp-oauth-client-secret", accept: &["secret.gcp.", "secret.google."], template: "GOCSPX-{u28}", env: "GOOGLE_CLIENT_SECRET", provider: "Google OAuth", ctor: "flow = InstalledAppFlow.from_client_config({\"installed\": {\"client_id\": CLIENT_ID, \"client_secret\": \"{v}\"}}, SCOPES)" },
    Simple { name: "azure-client-secret", accept: &["secret.azure."], template: "{a3}{d1}Q~{u34}", env: "AZURE_CLIENT_SECRET", provider: "Azure AD", ctor: "credential = ClientSecretCredential(tenant_id=TENANT_ID, client_id=CLIENT_ID, client_secret=\"{v}\")" },
    Simple { name: "databricks", accept: &["secret.databricks."], template: "dapi{h32}", env: "DATABRICKS_TOKEN", provider: "Databricks", ctor: "conn = sql.connect(server_hostname=HOST, http_path=\"/sql/1.0/warehouses/4b9b953939869799\", access_token=\"{v}\")" },
    Simple { name: "digitalocean", accept: &["secret.digitalocean."], template: "dop_v1_{h64}", env: "DIGITALOCEAN_TOKEN", provider: "DigitalOcean", ctor: "client = pydo.Client(token=\"{v}\")" },
    Simple { name: "heroku", accept: &["secret.heroku."], template: "HRKU-AA{u58}", env: "HEROKU_API_KEY", provider: "Heroku", ctor: "conn = heroku3.from_key(\"{v}\")" },
    Simple { name: "sourcegraph", accept: &["secret.sourcegraph."], template: "sgp_{h16}_{h40}", env: "SRC_ACCESS_TOKEN", provider: "Sourcegraph", ctor: "client = SourcegraphClient(\"https://sourcegraph.acme.dev\", token=\"{v}\")" },
    Simple { name: "infracost", accept: &["secret.infracost."], template: "ico-{a32}", env: "INFRACOST_API_KEY", provider: "Infracost", ctor: "subprocess.run([\"infracost\", \"breakdown\", \"--path\", \".\"], env={\"INFRACOST_API_KEY\": \"{v}\"})" },
    Simple { name: "adafruit-io", accept: &["secret.adafruit."], template: "aio_{a28}", env: "ADAFRUIT_IO_KEY", provider: "Adafruit IO", ctor: "aio = Client(\"greenhouse\", \"{v}\")" },
    Simple { name: "doppler", accept: &["secret.doppler."], template: "dp.pt.{a43}", env: "DOPPLER_TOKEN", provider: "Doppler", ctor: "secrets = DopplerSDK(access_token=\"{v}\")" },
    Simple { name: "vault", accept: &["secret.hashicorp."], template: "hvs.{u90}", env: "VAULT_TOKEN", provider: "Vault", ctor: "client = hvac.Client(url=\"https://vault.internal:8200\", token=\"{v}\")" },
    Simple { name: "sentry", accept: &["secret.sentry."], template: "sntryu_{h64}", env: "SENTRY_AUTH_TOKEN", provider: "Sentry", ctor: "headers = {\"Authorization\": \"Bearer {v}\"}" },
    Simple { name: "github-fine-grained", accept: &["secret.github."], template: "github_pat_11{U20}_{a59}", env: "GITHUB_TOKEN", provider: "GitHub", ctor: "g = Github(auth=Auth.Token(\"{v}\"))" },
    Simple { name: "gitlab", accept: &["secret.gitlab."], template: "glpat-{u20}", env: "GITLAB_TOKEN", provider: "GitLab", ctor: "gl = gitlab.Gitlab(\"https://gitlab.com\", private_token=\"{v}\")" },
    Simple { name: "bitbucket", accept: &["secret.bitbucket.", "secret.atlassian."], template: "ATBB{a32}", env: "BITBUCKET_APP_PASSWORD", provider: "Bitbucket", ctor: "bb = Cloud(username=\"dataops\", password=\"{v}\", cloud=True)" },
    Simple { name: "pypi", accept: &["secret.pypi."], template: "pypi-AgEIcHlwaS5vcmc{u150}", env: "TWINE_PASSWORD", provider: "PyPI", ctor: "!twine upload dist/* -u __token__ -p {v}" },
    Simple { name: "dockerhub", accept: &["secret.docker"], template: "dckr_pat_{u27}", env: "DOCKERHUB_TOKEN", provider: "Docker Hub", ctor: "client.login(username=\"mlops\", password=\"{v}\", registry=\"https://index.docker.io/v1/\")" },
    Simple { name: "slack-bot", accept: &["secret.slack."], template: "xoxb-{d12}-{d13}-{a24}", env: "SLACK_BOT_TOKEN", provider: "Slack", ctor: "client = WebClient(token=\"{v}\")" },
    Simple { name: "slack-user", accept: &["secret.slack."], template: "xoxp-{d12}-{d12}-{d13}-{h32}", env: "SLACK_USER_TOKEN", provider: "Slack", ctor: "client = WebClient(token=\"{v}\")" },
    Simple { name: "slack-webhook", accept: &["secret.slack."], template: "https://hooks.slack.com/services/T{U10}/B{U10}/{a24}", env: "SLACK_WEBHOOK_URL", provider: "Slack", ctor: "requests.post(\"{v}\", json={\"text\": f\"training done: auc={auc:.3f}\"})" },
    Simple { name: "discord-bot", accept: &["secret.discord."], template: "MT{u22}.{u6}.{u38}", env: "DISCORD_BOT_TOKEN", provider: "Discord", ctor: "bot.run(\"{v}\")" },
    Simple { name: "discord-webhook", accept: &["secret.discord."], template: "https://discord.com/api/webhooks/1{d18}/{u68}", env: "DISCORD_WEBHOOK", provider: "Discord", ctor: "requests.post(\"{v}\", json={\"content\": \"epoch done\"})" },
    Simple { name: "telegram", accept: &["secret.telegram."], template: "7{d9}:AA{u33}", env: "TELEGRAM_BOT_TOKEN", provider: "Telegram", ctor: "bot = telebot.TeleBot(\"{v}\")" },
    Simple { name: "sendgrid", accept: &["secret.sendgrid."], template: "SG.{u22}.{u43}", env: "SENDGRID_API_KEY", provider: "SendGrid", ctor: "sg = SendGridAPIClient(\"{v}\")" },
    Simple { name: "mailgun", accept: &["secret.mailgun."], template: "key-{h32}", env: "MAILGUN_API_KEY", provider: "Mailgun", ctor: "requests.post(MAILGUN_URL, auth=(\"api\", \"{v}\"), data=message)" },
    Simple { name: "mailchimp", accept: &["secret.mailchimp."], template: "{h32}-us{d2}", env: "MAILCHIMP_API_KEY", provider: "Mailchimp", ctor: "client.set_config({\"api_key\": \"{v}\", \"server\": \"us14\"})" },
    Simple { name: "stripe-live", accept: &["secret.stripe."], template: "sk_live_{a99}", env: "STRIPE_SECRET_KEY", provider: "Stripe", ctor: "stripe.api_key = \"{v}\"" },
    Simple { name: "stripe-restricted", accept: &["secret.stripe."], template: "rk_live_{a99}", env: "STRIPE_API_KEY", provider: "Stripe", ctor: "client = StripeClient(\"{v}\")" },
    Simple { name: "shopify", accept: &["secret.shopify."], template: "shpat_{h32}", env: "SHOPIFY_ACCESS_TOKEN", provider: "Shopify", ctor: "session = shopify.Session(SHOP_URL, \"2024-01\", \"{v}\")" },
    Simple { name: "atlassian", accept: &["secret.atlassian."], template: "ATATT3xFfGF0{u180}={H8}", env: "JIRA_API_TOKEN", provider: "Jira", ctor: "jira = JIRA(server=\"https://acme.atlassian.net\", basic_auth=(\"ana@acme-analytics.io\", \"{v}\"))" },
    Simple { name: "notion", accept: &["secret.notion."], template: "ntn_{d11}{a35}", env: "NOTION_TOKEN", provider: "Notion", ctor: "notion = Client(auth=\"{v}\")" },
    Simple { name: "airtable", accept: &["secret.airtable."], template: "pat{a14}.{h64}", env: "AIRTABLE_API_KEY", provider: "Airtable", ctor: "api = Api(\"{v}\")" },
    Simple { name: "okta", accept: &["secret.okta."], template: "00{u40}", env: "OKTA_API_TOKEN", provider: "Okta", ctor: "headers = {\"Authorization\": \"SSWS {v}\", \"Accept\": \"application/json\"}  # okta" },
    Simple { name: "generic-secret", accept: &["secret.generic."], template: "{a40}", env: "API_SECRET", provider: "internal API", ctor: "client = InternalClient(base_url=BASE_URL, api_secret=\"{v}\")" },
    Simple { name: "generic-token", accept: &["secret.generic."], template: "{u48}", env: "SERVICE_TOKEN", provider: "feature store", ctor: "fs = FeatureStoreClient(endpoint=ENDPOINT, token=\"{v}\")" },
];

fn simple(s: &'static Simple, rng: &mut Rng) -> Cred {
    let value = rng.fill(s.template);
    Cred {
        accept: s.accept,
        ctor: s.ctor.replace("{v}", &value),
        value,
        extra: Vec::new(),
        env: s.env.to_string(),
        provider: s.provider,
        file: None,
        multiline: false,
        keyless: s.template.starts_with('{')
            || ["deepseek", "elevenlabs", "okta"].contains(&s.name),
    }
}

/// `-----BEGIN <what>-----`, assembled so that no armour line appears in this file.
pub fn armour(edge: &str, what: &str) -> String {
    ["-----", edge, " ", what, "-----"].concat()
}

fn pem(rng: &mut Rng, what: &str, der_head: &str, body_len: usize) -> String {
    let body = format!("{der_head}{}", rng.string(gen::BASE64, body_len));
    let mut out = armour("BEGIN", what);
    out.push('\n');
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&armour("END", what));
    out.push('\n');
    out
}

fn aws_pair(rng: &mut Rng) -> Cred {
    let id = rng.fill(&["AK", "IA", "{316}"].concat());
    let secret = rng.fill("{b40}");
    let file = format!(
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nregion = eu-west-1\n"
    );
    Cred {
        accept: &["secret.aws."],
        ctor: format!("s3 = boto3.client(\"s3\", aws_access_key_id=\"{id}\", aws_secret_access_key=\"{secret}\")"),
        value: secret,
        extra: vec![("AWS_ACCESS_KEY_ID".into(), id)],
        env: "AWS_SECRET_ACCESS_KEY".into(),
        provider: "AWS",
        file: Some(("~/.aws/credentials".into(), file)),
        multiline: false,
        keyless: true,
    }
}

fn aws_session(rng: &mut Rng) -> Cred {
    let value = rng.fill(&["IQoJb3JpZ2lu", "X2Vj{b360}"].concat());
    Cred {
        accept: &["secret.aws."],
        ctor: format!("session = boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=\"{value}\")"),
        value,
        extra: Vec::new(),
        env: "AWS_SESSION_TOKEN".into(),
        provider: "AWS STS",
        file: None,
        multiline: false,
        keyless: false,
    }
}

fn gcp_service_account(rng: &mut Rng) -> Cred {
    let project = format!(
        "ml-{}-{}",
        rng.pick(&["prod", "research", "sandbox"]),
        rng.range(100, 999)
    );
    let key = pem(
        rng,
        "PRIVATE KEY",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ",
        1570,
    );
    let key_id = rng.string(gen::HEX, 40);
    let sa = serde_json::json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": key,
        "client_email": format!("etl-runner@{project}.iam.gserviceaccount.com"),
        "client_id": rng.fill("1{d20}"),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    let text = serde_json::to_string_pretty(&sa).expect("a JSON value always serialises");
    Cred {
        accept: &["secret.gcp.", "private-key"],
        ctor: format!("info = json.loads('''{text}''')\ncreds = service_account.Credentials.from_service_account_info(info)"),
        value: key,
        extra: vec![("private_key_id".into(), key_id)],
        env: "GOOGLE_APPLICATION_CREDENTIALS_JSON".into(),
        provider: "GCP",
        file: Some(("service-account.json".into(), text)),
        multiline: true,
        keyless: false,
    }
}

fn azure_connection_string(rng: &mut Rng) -> Cred {
    let account = format!(
        "{}{}",
        rng.pick(&["mlstore", "datalake", "rawdata"]),
        rng.range(10, 99)
    );
    let key = rng.fill("{b86}==");
    let value = format!("DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net");
    Cred {
        accept: &["secret.azure."],
        ctor: format!("blob_service = BlobServiceClient.from_connection_string(\"{value}\")"),
        value,
        extra: Vec::new(),
        env: "AZURE_STORAGE_CONNECTION_STRING".into(),
        provider: "Azure Storage",
        file: None,
        multiline: false,
        keyless: false,
    }
}

fn azure_sas(rng: &mut Rng) -> Cred {
    let sig = rng
        .fill("{b43}=")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let value = format!(
        "https://{}.blob.core.windows.net/raw/{}.parquet?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2025-09-30T18:00:00Z&st=2024-09-01T10:00:00Z&spr=https&sig={sig}",
        rng.pick(&["mlstore01", "telemetrylake", "exportsprod"]),
        rng.pick(&["events", "train", "claims_2024"])
    );
    Cred {
        accept: &["secret.azure."],
        ctor: format!("df = pd.read_parquet(\"{value}\")"),
        value,
        extra: Vec::new(),
        env: "AZURE_SAS_URL".into(),
        provider: "Azure Blob",
        file: None,
        multiline: false,
        keyless: false,
    }
}

fn neptune(rng: &mut Rng) -> Cred {
    let payload = format!(
        "{{\"api_address\":\"https://app.neptune.ai\",\"api_url\":\"https://app.neptune.ai\",\"api_key\":\"{}\"}}",
        rng.uuid()
    );
    let value = gen::base64(payload.as_bytes());
    Cred {
        accept: &["secret.neptune."],
        ctor: format!("run = neptune.init_run(project=\"ml-team/churn\", api_token=\"{value}\")"),
        value,
        extra: Vec::new(),
        env: "NEPTUNE_API_TOKEN".into(),
        provider: "Neptune",
        file: None,
        multiline: false,
        keyless: false,
    }
}

fn kaggle(rng: &mut Rng) -> Cred {
    let user = format!(
        "{}{}",
        rng.pick(&["ana", "datawiz", "kmeans"]),
        rng.range(1, 99)
    );
    let value = rng.string(gen::HEX, 32);
    Cred {
        accept: &["secret.kaggle."],
        ctor: format!(
            "!echo '{{\"username\":\"{user}\",\"key\":\"{value}\"}}' > ~/.kaggle/kaggle.json"
        ),
        file: Some((
            "~/.kaggle/kaggle.json".into(),
            format!("{{\"username\": \"{user}\", \"key\": \"{value}\"}}\n"),
        )),
        value,
        extra: vec![("KAGGLE_USERNAME".into(), user)],
        env: "KAGGLE_KEY".into(),
        provider: "Kaggle",
        multiline: false,
        keyless: true,
    }
}

fn twilio(rng: &mut Rng) -> Cred {
    let sid = rng.fill("AC{h32}");
    let value = rng.string(gen::HEX, 32);
    Cred {
        accept: &["secret.twilio.auth-token", "secret.twilio.api"],
        ctor: format!("client = Client(\"{sid}\", \"{value}\")  # twilio"),
        value,
        extra: vec![("TWILIO_ACCOUNT_SID".into(), sid)],
        env: "TWILIO_AUTH_TOKEN".into(),
        provider: "Twilio",
        file: None,
        multiline: false,
        keyless: true,
    }
}

fn github(rng: &mut Rng) -> Cred {
    let kind = *rng.pick(&["p", "o", "u", "s", "r"]);
    let prefix = ["gh", kind, "_"].concat();
    let random = rng.string(gen::ALNUM, 30);
    let value = nbguard::rules::validate::with_token_crc32(&prefix, &random);
    Cred {
        accept: &["secret.github."],
        ctor: format!("!git clone https://{value}@github.com/acme-ml/feature-store.git"),
        value,
        extra: Vec::new(),
        env: "GITHUB_TOKEN".into(),
        provider: "GitHub",
        file: None,
        multiline: false,
        keyless: false,
    }
}

fn npm(rng: &mut Rng) -> Cred {
    let random = rng.string(gen::ALNUM, 30);
    let value = nbguard::rules::validate::with_token_crc32(&["np", "m_"].concat(), &random);
    Cred {
        accept: &["secret.npm."],
        ctor: format!("!npm config set //registry.npmjs.org/:_authToken {value}"),
        file: Some((
            ".npmrc".into(),
            format!("//registry.npmjs.org/:_authToken={value}\n"),
        )),
        value,
        extra: Vec::new(),
        env: "NPM_TOKEN".into(),
        provider: "npm",
        multiline: false,
        keyless: false,
    }
}

fn private_key(rng: &mut Rng) -> Cred {
    let (what, head, len, path) = *rng.pick(&[
        ("RSA PRIVATE KEY", "MIIEpAIBAAKCAQEA", 1560, "~/.ssh/id_rsa"),
        ("EC PRIVATE KEY", "MHcCAQEEI", 150, "certs/signing-ec.pem"),
        (
            "OPENSSH PRIVATE KEY",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
            330,
            "~/.ssh/id_ed25519",
        ),
    ]);
    let value = pem(rng, what, head, len);
    Cred {
        accept: &["private-key"],
        ctor: format!("PRIVATE_KEY = \"\"\"{value}\"\"\""),
        file: Some((path.into(), value.clone())),
        value,
        extra: Vec::new(),
        env: "SSH_PRIVATE_KEY".into(),
        provider: "SSH",
        multiline: true,
        keyless: false,
    }
}

fn jwt(rng: &mut Rng) -> Cred {
    let header = gen::base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = format!(
        "{{\"sub\":\"{}\",\"name\":\"etl-service\",\"iat\":{},\"exp\":{},\"scope\":\"read:data write:models\"}}",
        rng.uuid(),
        rng.range(1_700_000_000, 1_720_000_000),
        rng.range(1_730_000_000, 1_760_000_000)
    );
    let value = format!(
        "{header}.{}.{}",
        gen::base64url(payload.as_bytes()),
        rng.string(gen::URLSAFE, 43)
    );
    Cred {
        accept: &["jwt"],
        ctor: format!("resp = requests.get(f\"{{API}}/v2/predictions\", headers={{\"Authorization\": \"Bearer {value}\"}})"),
        value,
        extra: Vec::new(),
        env: "API_JWT".into(),
        provider: "the scoring API",
        file: None,
        multiline: false,
        keyless: false,
    }
}

/// A database URL with a password, in one of the schemes notebooks use.
fn db_url(rng: &mut Rng) -> Cred {
    let pw = rng.password();
    let user = rng
        .pick(&["etl", "analyst", "svc_reporting", "dbadmin"])
        .to_string();
    let host = rng
        .pick(&[
            "db.internal.acme-corp.io",
            "10.20.4.17",
            "prod-pg.c9akciq32.eu-west-1.rds.amazonaws.com",
            "cluster0.mxq3k.mongodb.net",
        ])
        .to_string();
    let url = match rng.below(8) {
        0 => format!("postgresql://{user}:{pw}@{host}:5432/analytics"),
        1 => format!("mysql+pymysql://{user}:{pw}@{host}:3306/shop"),
        2 => format!("mssql+pyodbc://{user}:{pw}@{host}:1433/warehouse?driver=ODBC+Driver+18+for+SQL+Server"),
        3 => format!("mongodb+srv://{user}:{pw}@cluster0.mxq3k.mongodb.net/?retryWrites=true&w=majority"),
        4 => format!("redis://default:{pw}@{host}:6379/0"),
        5 => format!("amqp://{user}:{pw}@{host}:5672/%2F"),
        6 => format!("jdbc:postgresql://{host}:5432/analytics?user={user}&password={pw}&ssl=true"),
        _ => format!("Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:{host},1433;Database=warehouse;Uid={user};Pwd={pw};Encrypt=yes;"),
    };
    Cred {
        accept: &[
            "secret.generic.",
            "database",
            "db-url",
            "connection",
            "postgres",
            "mysql",
            "mongo",
            "redis",
            "amqp",
            "rabbitmq",
            "jdbc",
            "odbc",
            "mssql",
            "sqlserver",
            "uri",
            "url",
        ],
        ctor: format!("engine = create_engine(\"{url}\")"),
        value: url,
        extra: Vec::new(),
        env: "DATABASE_URL".into(),
        provider: "the warehouse",
        file: None,
        multiline: false,
        keyless: false,
    }
}

/// A password in one of the ways passwords are passed around in notebooks.
fn password(rng: &mut Rng) -> Cred {
    let pw = rng.password();
    let host = rng.pick(&["git.acme-corp.io", "ftp.partner-data.net", "mysql.internal"]);
    let (ctor, file) = match rng.below(4) {
        0 => (format!("conn = pymysql.connect(host=\"{host}\", user=\"report\", password=\"{pw}\", database=\"sales\")"), None),
        1 => (format!("!mysql -h {host} -u report -p{pw} sales < schema.sql"), None),
        2 => (format!("ftp = FTP(\"{host}\")\nftp.login(user=\"partner\", passwd=\"{pw}\")"), Some((
            "~/.netrc".to_string(),
            format!("machine {host}\n  login partner\n  password {pw}\n"),
        ))),
        _ => (format!("DB_CONFIG = {{\"host\": \"{host}\", \"user\": \"report\", \"password\": \"{pw}\"}}"), None),
    };
    Cred {
        accept: &["secret.generic.", "mysql", "netrc", "password"],
        ctor,
        value: pw,
        extra: Vec::new(),
        env: "DB_PASSWORD".into(),
        provider: "the database",
        file,
        multiline: false,
        keyless: true,
    }
}

fn snowflake(rng: &mut Rng) -> Cred {
    let pw = rng.password();
    Cred {
        accept: &["secret.snowflake.", "secret.generic."],
        ctor: format!("conn = snowflake.connector.connect(user=\"ETL_SVC\", password=\"{pw}\", account=\"xy12345.eu-west-1\", warehouse=\"COMPUTE_WH\")"),
        value: pw,
        extra: Vec::new(),
        env: "SNOWFLAKE_PASSWORD".into(),
        provider: "Snowflake",
        file: None,
        multiline: false,
        keyless: true,
    }
}

fn bearer(rng: &mut Rng) -> Cred {
    let len = rng.range(32, 64);
    let value = rng.string(gen::ALNUM, len);
    Cred {
        accept: &["bearer", "authorization", "secret.generic."],
        ctor: format!("headers = {{\"Authorization\": \"Bearer {value}\", \"Content-Type\": \"application/json\"}}"),
        value,
        extra: Vec::new(),
        env: "API_BEARER_TOKEN".into(),
        provider: "the partner API",
        file: None,
        multiline: false,
        keyless: true,
    }
}

fn url_credentials(rng: &mut Rng) -> Cred {
    let pw = rng.password();
    let value = format!(
        "https://{}:{pw}@{}/{}",
        rng.pick(&["deploy", "ci-bot", "maria.garcia"]),
        rng.pick(&[
            "nexus.acme-corp.io",
            "artifacts.internal",
            "git.acme-corp.io"
        ]),
        rng.pick(&[
            "repository/pypi/simple",
            "ml/models.git",
            "exports/latest.csv"
        ])
    );
    Cred {
        accept: &["secret.generic.", "url", "uri", "basic-auth", "credentials"],
        ctor: format!("!pip install --index-url {value} churnlib"),
        value,
        extra: Vec::new(),
        env: "PIP_INDEX_URL".into(),
        provider: "the package index",
        file: None,
        multiline: false,
        keyless: false,
    }
}

/// A generator of one special-shaped credential.
type Maker = fn(&mut Rng) -> Cred;

pub fn families() -> Vec<Family> {
    let mut out: Vec<Family> = SIMPLE
        .iter()
        .map(|s| Family {
            name: s.name,
            make: Box::new(move |rng: &mut Rng| simple(s, rng)),
        })
        .collect();
    let special: [(&'static str, Maker); 17] = [
        ("aws-keypair", aws_pair),
        ("aws-session-token", aws_session),
        ("gcp-service-account", gcp_service_account),
        ("azure-storage-connection-string", azure_connection_string),
        ("azure-sas", azure_sas),
        ("neptune", neptune),
        ("kaggle", kaggle),
        ("twilio", twilio),
        ("github", github),
        ("npm", npm),
        ("private-key", private_key),
        ("jwt", jwt),
        ("db-url", db_url),
        ("password", password),
        ("snowflake", snowflake),
        ("bearer-header", bearer),
        ("url-credentials", url_credentials),
    ];
    out.extend(special.into_iter().map(|(name, f)| Family {
        name,
        make: Box::new(f),
    }));
    out
}
