//! The dashboard's one translation catalogue, French and English, typed: every page string is
//! a [`Msg`] (a missing or misspelt one does not compile, in Rust or in a template), and words
//! that come from the domain (statuses, sort options, tones, weekdays, fact sources, validation
//! and conflict messages) are methods of [`Tr`] on the domain types. The API speaks English and
//! stable codes; the pages translate by code here (English pages show the API's own message).

use jarvis_core::FieldError;
use jarvis_core::model::*;
use jarvis_store::StoreError;

/// The page language: picks the French or English text of every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tr(pub Locale);

macro_rules! catalogue {
    ($($key:ident => ($fr:expr, $en:expr),)*) => {
        /// Every fixed page string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg {
            $(
                #[doc = $en]
                $key,
            )*
        }

        impl Msg {
            /// The French and English texts.
            pub fn texts(self) -> (&'static str, &'static str) {
                match self {
                    $(Msg::$key => ($fr, $en),)*
                }
            }
        }
    };
}

catalogue! {
    Gyms => ("Salles", "Gyms"),
    NavOverview => ("Vue d'ensemble", "Overview"),
    NavJobs => ("Tâches de fond", "Background jobs"),
    NavMain => ("Navigation principale", "Main navigation"),
    NavAdmin => ("Administration", "Administration"),
    NavMenu => ("Menu", "Menu"),
    Breadcrumbs => ("Fil d'Ariane", "Breadcrumbs"),
    SwitchGym => ("Changer de salle", "Switch gym"),
    SkipToContent => ("Aller au contenu", "Skip to content"),
    LanguageSwitch => ("Langue de l'interface", "Interface language"),
    SignedInUser => ("Connecté :", "Signed in:"),
    Members => ("Membres", "Members"),
    Kiosks => ("Bornes", "Kiosks"),
    Classes => ("Cours", "Classes"),
    Import => ("Import CSV", "CSV import"),
    Search => ("Rechercher", "Search"),
    Name => ("Nom", "Name"),
    Status => ("Statut", "Status"),
    Reason => ("Motif", "Reason"),
    Approve => ("Approuver", "Approve"),
    Reject => ("Refuser", "Reject"),
    Suspend => ("Suspendre", "Suspend"),
    Reactivate => ("Réactiver", "Reactivate"),
    Resubmit => ("Soumettre à nouveau", "Resubmit"),
    Previous => ("Précédent", "Previous"),
    Next => ("Suivant", "Next"),
    Of => ("sur", "of"),
    Badge => ("Badge", "Badge"),
    FirstName => ("Prénom", "First name"),
    LastName => ("Nom", "Last name"),
    Email => ("E-mail", "E-mail"),
    Phone => ("Téléphone", "Phone"),
    Language => ("Langue", "Language"),
    MembershipType => ("Abonnement", "Membership"),
    Visits => ("Visites", "Visits"),
    LastVisit => ("Dernière visite", "Last visit"),
    AddMember => ("Ajouter un membre", "Add a member"),
    Add => ("Ajouter", "Add"),
    Save => ("Enregistrer", "Save"),
    All => ("Tous", "All"),
    Facts => ("Notes", "Facts"),
    Note => ("Note", "Note"),
    Source => ("Source", "Source"),
    Date => ("Date", "Date"),
    Gdpr => ("RGPD", "GDPR"),
    ExportJson => ("Exporter ses données (JSON)", "Export their data (JSON)"),
    ExportCsv => ("Exporter les membres (CSV)", "Export members (CSV)"),
    Erase => ("Effacer définitivement", "Erase permanently"),
    EraseConfirm => ("Effacer ce membre et toutes ses données personnelles ? Les visites restent comptées de façon anonyme. Cette action est irréversible.", "Erase this member and all their personal data? Visits stay as anonymous counts. This cannot be undone."),
    Cancel => ("Annuler", "Cancel"),
    Confirm => ("Confirmer", "Confirm"),
    Presence => ("État", "State"),
    Online => ("en ligne", "online"),
    Offline => ("hors ligne", "offline"),
    Revoked => ("révoquée", "revoked"),
    Unpaired => ("non appairée", "unpaired"),
    LastSeen => ("Vue", "Last seen"),
    Version => ("Version", "Version"),
    Pair => ("Code d'appairage", "Pairing code"),
    PairIntro => ("Saisissez ce code sur la borne (page /kiosk). Il est valable 15 minutes, une seule fois.", "Type this code on the kiosk (page /kiosk). It works once, for 15 minutes."),
    Revoke => ("Révoquer", "Revoke"),
    RevokeConfirm => ("Révoquer cette borne ? Elle sera déconnectée immédiatement et devra être appairée à nouveau.", "Revoke this kiosk? It is cut off at once and must be paired again."),
    NewKiosk => ("Nouvelle borne", "New kiosk"),
    Coach => ("Coach", "Coach"),
    Room => ("Salle", "Room"),
    Weekday => ("Jour", "Day"),
    Start => ("Début", "Start"),
    Duration => ("Durée (min)", "Duration (min)"),
    Capacity => ("Places", "Capacity"),
    Delete => ("Supprimer", "Delete"),
    NewClass => ("Nouveau cours hebdomadaire", "New weekly class"),
    Upload => ("Importer", "Upload"),
    File => ("Fichier CSV", "CSV file"),
    DryRun => ("Vérifier seulement (aucune écriture)", "Check only (write nothing)"),
    SkipBad => ("Ignorer les lignes en erreur", "Skip bad rows"),
    ImportIntro => ("En-têtes reconnus : badge, prénom, nom, e-mail, téléphone, date de naissance, langue, abonnement… Séparateur ; ou , — UTF-8 ou Windows-1252. Par défaut tout ou rien.", "Recognized headers: badge, first name, last name, e-mail, phone, birth date, language, membership… Delimiter ; or , — UTF-8 or Windows-1252. All or nothing by default."),
    Job => ("Import", "Import"),
    Progress => ("Progression", "Progress"),
    Rows => ("lignes", "rows"),
    Inserted => ("importées", "imported"),
    Skipped => ("ignorées", "skipped"),
    Errors => ("erreurs", "errors"),
    Line => ("Ligne", "Line"),
    Column => ("Colonne", "Column"),
    IgnoredColumns => ("Colonnes ignorées", "Ignored columns"),
    Forbidden => ("Accès refusé.", "Access denied."),
    NotFound => ("Introuvable.", "Not found."),
    Error => ("Erreur", "Error"),
    Back => ("Retour", "Back"),
    Settings => ("Réglages", "Settings"),
    Timezone => ("Fuseau horaire", "Time zone"),
    Address => ("Adresse", "Address"),
    Edit => ("Modifier", "Edit"),
    SeenWithin => ("Vus depuis (jours)", "Seen within (days)"),
    Rename => ("Renommer / déplacer", "Rename / move"),
    PersonaName => ("Nom de l'assistant", "Assistant name"),
    Voice => ("Voix", "Voice"),
    Tone => ("Ton", "Tone"),
    Instructions => ("Consignes supplémentaires", "Extra instructions"),
    VoiceSessionCap => ("Sessions vocales simultanées max.", "Max concurrent voice sessions"),
    Budget => ("Budget IA mensuel ($)", "Monthly AI budget ($)"),
    OpeningHours => ("Horaires (ex. 06:00-22:00)", "Opening hours (e.g. 06:00-22:00)"),
    Features => ("Fonctions", "Features"),
    FVoice => ("Conversations vocales", "Voice conversations"),
    FTranscripts => ("Transcriptions", "Transcripts"),
    FClassSchedule => ("Planning des cours", "Class schedule"),
    FKnowledgeBase => ("Base de connaissances", "Knowledge base"),
    FCustomTools => ("Outils personnalisés", "Custom tools"),
    FWeeklyReports => ("Rapports hebdomadaires", "Weekly reports"),
    HoursMon => ("Lundi", "Monday"),
    HoursTue => ("Mardi", "Tuesday"),
    HoursWed => ("Mercredi", "Wednesday"),
    HoursThu => ("Jeudi", "Thursday"),
    HoursFri => ("Vendredi", "Friday"),
    HoursSat => ("Samedi", "Saturday"),
    HoursSun => ("Dimanche", "Sunday"),
    MembershipStatus => ("Statut de l'abonnement", "Membership status"),
    MembershipEndDate => ("Fin d'abonnement", "Membership ends"),
    Goals => ("Objectifs (séparés par |)", "Goals (separated by |)"),
    Limitations => ("Blessures / limitations", "Injuries / limitations"),
    ConsentVoice => ("Accepte les conversations vocales", "Agrees to voice conversations"),
    ConsentTranscripts => ("Accepte la conservation des transcriptions", "Agrees to keeping transcripts"),
    Sort => ("Tri", "Sort"),
    NoKiosks => ("Aucune borne pour l'instant.", "No kiosk yet."),
    NoKiosksManage => ("Aucune borne pour l'instant : ajoutez-en une ci-dessous, puis appairez-la avec le code affiché.", "No kiosk yet: add one below, then pair it with the code shown."),
    NoClasses => ("Aucun cours au planning pour l'instant.", "No class on the schedule yet."),
    NoClassesManage => ("Aucun cours au planning pour l'instant : ajoutez le premier ci-dessous.", "No class on the schedule yet: add the first one below."),
    ChurnMinLevel => ("Risque à partir de", "Risk from"),
    NoMembers => ("Aucun membre pour l'instant.", "No member yet."),
    NoMembersManage => ("Aucun membre pour l'instant : ajoutez-en un ci-dessous ou importez un fichier CSV.", "No member yet: add one below or import a CSV file."),
    MemberSince => ("Inscrit le", "Joined"),
    NoMatch => ("Aucun résultat pour ces critères : élargissez la recherche ou retirez un filtre.", "Nothing matches these criteria: widen the search or remove a filter."),
    NoConversations => ("Aucune conversation pour l'instant : elles apparaissent ici dès qu'un membre parle à une borne.", "No conversation yet: they appear here as soon as a member talks to a kiosk."),
    Persona => ("Assistant", "Persona"),
    Tagline => ("Compagnon vocal IA pour salles de sport", "AI voice companion for gyms"),
    Footer => ("JARVIS — auto-hébergé", "JARVIS — self-hosted"),
    TimesIn => ("Heures affichées :", "Times shown in"),
    DryRunTag => ("(vérification seulement)", "(dry run)"),
    BudgetLocked => ("Fixé par le propriétaire de la franchise ou un super administrateur.", "Set by the franchise owner or a super admin."),
    EditClass => ("Modifier le cours", "Edit class"),
    OneOffDate => ("Date (cours ponctuel)", "Date (one-off class)"),
    Misconfigured => ("Les réglages enregistrés de cette salle sont invalides : bornes et assistant vocal sont refusés jusqu'à ce qu'ils soient enregistrés à nouveau.", "This gym's stored settings are invalid: kiosks and the voice assistant are refused until they are saved again."),
    GymInactive => ("Seules les salles actives peuvent faire fonctionner des bornes.", "Only active gyms can run kiosks."),
    HomeTitle => ("Tableau de bord", "Dashboard"),
    DemoModeTitle => ("Mode démo", "Demo mode"),
    DemoModeText => (" — aucune clé OpenAI n'est configurée : le faux OpenAI intégré répond à toutes les demandes vocales et d'IA. Rien ne quitte cette machine.", " — no OpenAI key is configured, so the built-in fake OpenAI answers every voice and AI request. Nothing leaves this machine."),
    Welcome => ("Bienvenue sur JARVIS", "Welcome to JARVIS"),
    NotFoundTitle => ("Page introuvable", "Page not found"),
    NotFoundText => ("Il n'y a rien à cette adresse.", "There is nothing at this address."),
    BackToDashboard => ("Retour au tableau de bord", "Back to the dashboard"),
    HomeYourGyms => ("Vos salles", "Your gyms"),
    HomeNoGym => ("Aucune salle pour le moment. Une salle créée ou approuvée apparaîtra ici.", "No gym yet. A gym appears here once created or approved."),
    HomeGymTile => ("Vue d'ensemble, conversations, membres, bornes", "Overview, conversations, members, kiosks"),
    HomeAllGyms => ("Voir toutes les salles", "See every gym"),
    HomeShortcuts => ("Raccourcis et compte", "Shortcuts and account"),
    SignedInAs => ("Connecté en tant que", "Signed in as"),
    GymsTile => ("Membres, bornes, cours, conversations, import CSV, réglages", "Members, kiosks, classes, conversations, CSV import, settings"),
    Team => ("Équipe", "Team"),
    TeamTile => ("Comptes et rôles de votre périmètre : désactiver, réactiver, retirer un rôle", "Accounts and roles in your area: disable, re-enable, remove a role"),
    AccountSecurity => ("Sécurité du compte", "Account security"),
    SecurityTile => ("Sessions, vérification en deux étapes, journal de connexion", "Sessions, two-step verification, sign-in log"),
    Database => ("Base de données", "Database"),
    TokensFrom => ("jetons d'accès via", "access tokens from"),
    Health => ("État", "Health"),
    Liveness => ("vivant", "liveness"),
    Readiness => ("prêt", "readiness"),
    LogOut => ("Se déconnecter", "Log out"),
    LogOutEverywhere => ("Se déconnecter partout", "Log out everywhere"),
    VoiceCalls => ("Conversations", "Conversations"),
    VoiceTile => ("Prix des modèles, budget et plafond de la plateforme", "Model prices, platform budget and cap"),
    LiveSessions => ("En cours", "Live now"),
    NoLiveSessions => ("Aucune conversation en cours.", "No conversation right now."),
    History => ("Historique", "History"),
    Member => ("Membre", "Member"),
    Kiosk => ("Borne", "Kiosk"),
    Started => ("Début", "Started"),
    Length => ("Durée", "Length"),
    Cost => ("Coût", "Cost"),
    RunningCost => ("Coût en cours", "Running cost"),
    HangUp => ("Raccrocher", "Hang up"),
    HangUpConfirm => ("Raccrocher cette conversation ? Le membre est coupé dans les 10 secondes, quelle que soit l'instance qui porte l'appel.", "Hang up this conversation? The member is cut off within 10 seconds, whichever instance runs the call."),
    HangUpPending => ("raccrochage demandé", "hang-up requested"),
    EndReason => ("Fin", "End reason"),
    FromDay => ("Du (AAAA-MM-JJ)", "From (YYYY-MM-DD)"),
    ToDay => ("Au (AAAA-MM-JJ)", "To (YYYY-MM-DD)"),
    Filter => ("Filtrer", "Filter"),
    Session => ("Conversation", "Conversation"),
    Open => ("Voir", "Open"),
    Transcript => ("Transcription", "Transcript"),
    NoTurns => ("Aucun échange conservé.", "No turn kept."),
    TextNotKept => ("(texte non conservé)", "(text not kept)"),
    Redacted => ("données personnelles masquées", "personal data redacted"),
    ToolCalls => ("Appels d'outils", "Tool calls"),
    NoToolCalls => ("Aucun appel d'outil.", "No tool call."),
    Tool => ("Outil", "Tool"),
    Arguments => ("Arguments", "Arguments"),
    Result => ("Résultat", "Result"),
    DurationMs => ("Durée (ms)", "Duration (ms)"),
    Latency => ("Latence (ms)", "Latency (ms)"),
    GymLatency => ("Latence de la salle sur 30 jours (fin de parole → première réponse audio), p50 / p95", "Gym latency over 30 days (end of speech → first audio), p50 / p95"),
    Total => ("Total", "Total"),
    Transcription => ("dont transcription", "of which transcription"),
    Tokens => ("Jetons (entrée / sortie)", "Tokens (in / out)"),
    Who => ("Qui", "Who"),
    FollowUps => ("Suivis demandés par l'assistant", "Follow-ups from the assistant"),
    NoFollowUps => ("Rien en attente.", "Nothing waiting."),
    Resolve => ("Marquer traité", "Mark done"),
    Done => ("traité", "done"),
    Waiting => ("en attente", "waiting"),
    BudgetAlerts => ("Alertes budget du mois", "Budget alerts this month"),
    MonthSpend => ("Dépense IA du mois", "AI spend this month"),
    ModelPrices => ("Prix des modèles", "Model prices"),
    ModelPricesIntro => ("Prix en dollars par million de jetons (par minute pour une transcription facturée à la durée). Un appel est facturé avec la table en vigueur à son début ; un prix ajouté au même modèle et à la même date remplace l'ancien.", "Prices in dollars per million tokens (per minute for duration-billed transcription). A call is priced with the table in effect when it started; a price for the same model and date replaces the old one."),
    Model => ("Modèle", "Model"),
    EffectiveFrom => ("À partir du (AAAA-MM-JJ)", "Effective from (YYYY-MM-DD)"),
    AddPrice => ("Ajouter un prix", "Add a price"),
    PlatformLimits => ("Budget et plafond de la plateforme", "Platform budget and cap"),
    PlatformBudget => ("Budget IA mensuel de la plateforme ($)", "Platform monthly AI budget ($)"),
    GlobalCap => ("Conversations simultanées max. (toutes salles, toutes instances)", "Max concurrent conversations (every gym and instance)"),
    HardStop => ("Arrêt à 100 % d'un budget (refuser et raccrocher)", "Hard stop at 100 % of a budget (refuse and hang up)"),
    RealtimeModel => ("Modèle temps réel des nouveaux appels", "Realtime model of new calls"),
    TranscriptionModel => ("Modèle de transcription des nouveaux appels", "Transcription model of new calls"),
    PlatformSpend => ("Dépense de la plateforme ce mois-ci", "Platform spend this month"),
    Saved => ("Enregistré.", "Saved."),
    Leads => ("Prospects", "Leads"),
    NoLeads => ("Aucun prospect reçu.", "No lead received."),
    LeadMessage => ("Message", "Message"),
    LeadWebhook => ("Webhook des prospects", "Lead webhook"),
    LeadWebhookNone => ("Aucun secret généré : le webhook refuse tout envoi.", "No secret generated: the webhook refuses every delivery."),
    LeadKeyId => ("Identifiant de clé (en-tête Jarvis-Webhook-Key)", "Key id (Jarvis-Webhook-Key header)"),
    LeadSecretRotate => ("Générer un nouveau secret (l'ancien cesse aussitôt de fonctionner)", "Generate a new secret (the old one stops working at once)"),
    LeadSecretOnce => ("Copiez ce secret maintenant : il ne sera plus affiché.", "Copy this secret now: it will not be shown again."),
    ChurnRisk => ("Risque de départ", "Churn risk"),
    ChurnList => ("Risque de départ des membres", "Members' churn risk"),
    ChurnNotYet => ("Pas encore calculé : le risque est calculé chaque nuit.", "Not computed yet: the risk is computed every night."),
    NoChurn => ("Aucun score calculé pour l'instant : le risque est calculé chaque nuit pour les membres actifs.", "No score computed yet: the risk is computed every night for active members."),
    ChurnExplain => ("Score de 0 à 100, somme des points de chaque facteur (fréquentation, absence, fin d'abonnement, ton des conversations, intention de résilier) ; moyen à partir de 40, élevé à partir de 70.", "Score from 0 to 100, the sum of each factor's points (visit trend, absence, membership end, conversation tone, intent to cancel); medium from 40, high from 70."),
    ChurnScore => ("Score", "Score"),
    ChurnLevelLabel => ("Niveau", "Level"),
    ChurnFactor => ("Facteur", "Factor"),
    ChurnMeasure => ("Mesure", "Measure"),
    ChurnPoints => ("Points", "Points"),
    ComputedAt => ("Calculé le", "Computed on"),
    Reports => ("Rapports", "Reports"),
    NoReports => ("Aucun rapport pour l'instant : un rapport est produit chaque lundi pour la semaine précédente.", "No report yet: one is built every Monday for the previous week."),
    ReportWeek => ("Semaine", "Week"),
    ReportSize => ("Taille (octets)", "Size (bytes)"),
    Download => ("Télécharger", "Download"),
    ChangeStatus => ("Changer", "Change"),
    Tools => ("Outils", "Tools"),
    ToolsIntro => ("Des fonctions que l'assistant peut appeler pendant une conversation : JARVIS envoie une requête HTTP signée au système de la salle (réservation, boutique, CRM…) et lit sa réponse JSON. Adresses privées ou locales refusées, sauf liste autorisée par l'opérateur.", "Functions the assistant may call during a conversation: JARVIS sends a signed HTTP request to the gym's own system (booking, shop, CRM…) and reads its JSON answer. Private or local addresses are refused unless the operator allow-lists them."),
    NoTools => ("Aucun outil.", "No tool."),
    NewTool => ("Nouvel outil", "New tool"),
    ToolName => ("Nom de fonction (snake_case)", "Function name (snake_case)"),
    ToolDescription => ("Description pour l'assistant (quand l'utiliser)", "Description for the assistant (when to use it)"),
    ToolParameters => ("Schéma JSON des arguments", "JSON schema of the arguments"),
    ToolUrl => ("URL (https://)", "URL (https://)"),
    ToolMethod => ("Méthode", "Method"),
    ToolTimeout => ("Délai maximal (ms, 500 à 10 000)", "Time limit (ms, 500 to 10,000)"),
    ToolMemberFields => ("Données du membre envoyées", "Member data sent"),
    ToolEnabled => ("Proposé à l'assistant", "Offered to the assistant"),
    ToolOn => ("actif", "on"),
    ToolOff => ("désactivé", "off"),
    ToolSecretOnce => ("Copiez ce secret de signature maintenant : il ne sera plus affiché.", "Copy this signing secret now: it will not be shown again."),
    ToolSecretRotate => ("Générer un nouveau secret (l'ancien cesse aussitôt de fonctionner)", "Generate a new secret (the old one stops working at once)"),
    ToolSecret => ("Secret de signature", "Signing secret"),
    ToolTest => ("Tester cet outil", "Test this tool"),
    ToolTestArguments => ("Arguments d'exemple (JSON)", "Sample arguments (JSON)"),
    ToolRequest => ("Requête envoyée", "Request sent"),
    ToolResponse => ("Réponse (telle que l'assistant la reçoit)", "Answer (as the assistant gets it)"),
    ToolFailure => ("Échec (message transmis à l'assistant)", "Failure (message given to the assistant)"),
    ToolDuration => ("Durée (ms)", "Duration (ms)"),
    ToolDeleteConfirm => ("Supprimer cet outil ? L'assistant ne pourra plus l'appeler.", "Delete this tool? The assistant will no longer be able to call it."),
    ToolSchemaNotJson => ("le schéma doit être du JSON valide", "the schema must be valid JSON"),
    ToolTimeoutNumber => ("un nombre de millisecondes", "a number of milliseconds"),
    ToolArgumentsInvalid => ("arguments invalides pour le schéma de l'outil (rien n'a été envoyé)", "arguments do not match the tool's schema (nothing was sent)"),
    ToolCreate => ("Créer l'outil", "Create the tool"),
    // Sign-in pages.
    SignInTitle => ("Connexion", "Sign in"),
    EmailAddress => ("Adresse e-mail", "E-mail"),
    Password => ("Mot de passe", "Password"),
    SignIn => ("Se connecter", "Sign in"),
    ForgotPassword => ("Mot de passe oublié ?", "Forgot your password?"),
    BadCredentials => ("E-mail ou mot de passe incorrect.", "Wrong e-mail or password."),
    TooManyAttempts => ("Trop de tentatives. Réessayez plus tard.", "Too many attempts. Try again later."),
    TwoStep => ("Vérification en deux étapes", "Two-step verification"),
    MfaIntro => ("Saisissez le code à 6 chiffres de votre application d'authentification, ou un code de secours.", "Enter the 6-digit code from your authenticator app, or a recovery code."),
    SixDigitCode => ("Code à 6 chiffres", "6-digit code"),
    Verify => ("Vérifier", "Verify"),
    RecoveryCodeOptional => ("Code de secours (facultatif)", "Recovery code (optional)"),
    BadCode => ("Code incorrect ou déjà utilisé.", "Wrong or already used code."),
    EnrollMfa => ("Activer la vérification en deux étapes", "Set up two-step verification"),
    EnrollIntro => ("Votre rôle l'exige. Scannez ce QR code avec une application d'authentification, puis saisissez le code affiché.", "Your role requires it. Scan this QR code with an authenticator app, then enter the code it shows."),
    ManualKey => ("Ou saisissez la clé :", "Or enter the key:"),
    QrAlt => ("QR code de configuration", "Setup QR code"),
    RecoveryCodes => ("Codes de secours", "Recovery codes"),
    RecoveryCodesIntro => ("Conservez ces 10 codes en lieu sûr : chacun permet une connexion si vous perdez votre téléphone. Ils ne seront plus affichés.", "Keep these 10 codes somewhere safe: each signs you in once if you lose your phone. They will not be shown again."),
    Continue => ("Continuer", "Continue"),
    ResetPassword => ("Réinitialiser le mot de passe", "Reset password"),
    ResetIntro => ("Indiquez votre e-mail : si un compte existe, un lien valable une heure vous sera envoyé.", "Enter your e-mail: if an account exists, a link valid for one hour will be sent."),
    SendLink => ("Envoyer le lien", "Send the link"),
    ResetSent => ("Si un compte existe pour cette adresse, un e-mail vient d'être envoyé.", "If an account exists for this address, an e-mail is on its way."),
    NewPassword => ("Nouveau mot de passe (12 caractères minimum)", "New password (at least 12 characters)"),
    ResetDone => ("Mot de passe changé. Toutes les sessions ont été fermées ; connectez-vous.", "Password changed. Every session was ended; please sign in."),
    BadLink => ("Ce lien est invalide, expiré ou déjà utilisé.", "This link is invalid, expired or already used."),
    AcceptInvitation => ("Accepter l'invitation", "Accept the invitation"),
    AcceptIntro => ("Choisissez votre mot de passe pour rejoindre JARVIS.", "Choose your password to join JARVIS."),
    InvitationAccepted => ("Invitation acceptée. Connectez-vous.", "Invitation accepted. Please sign in."),
    WeakPassword => ("Mot de passe trop faible : ", "Password too weak: "),
    CsrfRefused => ("Requête refusée (jeton de sécurité manquant ou invalide). Rechargez la page.", "Request refused (missing or invalid security token). Reload the page."),
    DemoBanner => ("aucune clé OpenAI n'est configurée : un faux OpenAI intégré répond. Comptes de démo : voir `jarvis demo seed`.", "no OpenAI key is configured, so the built-in fake OpenAI answers. Demo accounts: see `jarvis demo seed`."),
    // Team pages.
    InviteTitle => ("Inviter quelqu'un", "Invite someone"),
    InviteIntro => ("La personne reçoit un lien par e-mail, valable 7 jours, pour choisir son mot de passe. Vous ne pouvez donner que des rôles inférieurs ou égaux au vôtre, là où vous les avez.", "They get a link by e-mail, valid for 7 days, to choose their password. You can only grant roles up to your own, where you hold them."),
    InviteRole => ("Rôle", "Role"),
    InvitePlace => ("Où", "Where"),
    InviteChoose => ("Choisir…", "Choose…"),
    InviteSend => ("Envoyer l'invitation", "Send the invitation"),
    InviteSent => ("Invitation envoyée.", "Invitation sent."),
    InviteRoleMissing => ("Choisissez un rôle.", "Choose a role."),
    InvitePlaceMismatch => ("Choisissez où donner ce rôle : la plateforme pour un super administrateur, une franchise pour un propriétaire, une salle pour l'équipe d'une salle.", "Choose where the role applies: the platform for a super admin, a franchise for an owner, a gym for gym roles."),
    InviteEmailInvalid => ("Saisissez une adresse e-mail valide.", "Enter a valid e-mail address."),
    InviteNameInvalid => ("Saisissez un nom de 1 à 120 caractères.", "Enter a name of 1 to 120 characters."),
    InviteEmailTaken => ("Un compte existe déjà avec cette adresse.", "An account with this e-mail already exists."),
    InviteNotAllowed => ("Vous ne pouvez pas donner ce rôle à cet endroit.", "You cannot grant this role there."),
    TeamNoMatch => ("Personne ne correspond à cette recherche.", "Nobody matches this search."),
    TeamIntro => ("Les personnes qui ont un rôle dans votre périmètre. Désactiver un compte coupe immédiatement toutes ses sessions ; retirer un rôle aussi (la personne se reconnecte avec ce qui lui reste).", "People holding a role in your area. Disabling an account ends all its sessions at once; so does removing a role (they sign in again with what is left)."),
    Roles => ("Rôles", "Roles"),
    AccountState => ("État", "Status"),
    AccountActive => ("actif", "active"),
    AccountDisabled => ("désactivé", "disabled"),
    You => ("vous", "you"),
    Disable => ("Désactiver", "Disable"),
    Reenable => ("Réactiver", "Re-enable"),
    RemoveRole => ("retirer", "remove"),
    NotPossible => ("Action impossible", "Not possible"),
    DisableQuestion => ("Désactiver ce compte ? Toutes ses sessions (tableau de bord et API) s'arrêtent immédiatement et la personne ne peut plus se connecter, jusqu'à sa réactivation.", "Disable this account? All its sessions (dashboard and API) stop at once and they cannot sign in until re-enabled."),
    EnableQuestion => ("Réactiver ce compte ? La personne pourra se connecter à nouveau avec ses rôles.", "Re-enable this account? They can sign in again with their roles."),
    RemoveRoleQuestion => ("Retirer ce rôle ? Toutes les sessions de la personne s'arrêtent ; elle se reconnecte avec les rôles qui lui restent.", "Remove this role? All their sessions stop; they sign in again with the roles left."),
    PlacePlatform => ("plateforme", "platform"),
    PlaceFranchise => ("franchise", "franchise"),
    PlaceGym => ("salle", "gym"),
    TeamForbidden => ("Votre rôle ne permet pas de gérer l'équipe.", "Your role does not allow managing the team."),
    OwnAccount => ("Vous ne pouvez pas désactiver votre propre compte ni retirer vos propres rôles.", "You cannot disable your own account or remove your own roles."),
    HigherRole => ("Cette personne a un rôle que vous ne pouvez pas retirer (propriétaires et super administrateurs sont gérés au-dessus de vous).", "This person holds a role you may not take away (owners and super admins are managed above you)."),
    RolesElsewhere => ("Cette personne a aussi des rôles hors de votre franchise ou salle : vous ne pouvez pas désactiver son compte, mais vous pouvez retirer son rôle chez vous.", "This person also holds roles outside your franchise or gym: you cannot disable the account, but you can remove their role here."),
    LastSuperAdmin => ("C'est le dernier super administrateur actif : nommez-en un autre d'abord.", "This is the last enabled super admin: make someone else super admin first."),
    // Background-jobs page.
    BackgroundJobs => ("Tâches de fond", "Background jobs"),
    JobsIntro => ("Les tâches de fond tournent sur n'importe quelle instance ; chaque créneau planifié (UTC) ne s'exécute qu'une fois. Mêmes informations que `jarvis jobs`.", "Background jobs run on any instance; each scheduled slot (UTC) runs once. Same as `jarvis jobs`."),
    JobKind => ("Type", "Kind"),
    Schedule => ("Planification", "Schedule"),
    OnDemand => ("à la demande", "on demand"),
    LastRun => ("Dernière exécution", "Last run"),
    NextRun => ("Prochaine", "Next run"),
    JobQueue => ("File (dues / en cours / échouées / mortes)", "Queue (due / running / failed / dead)"),
    RunNow => ("Lancer", "Run now"),
    DeadJobs => ("Tâches mortes", "Dead jobs"),
    NoneYet => ("Aucune.", "None."),
    Attempts => ("Essais", "Attempts"),
    Retry => ("Relancer", "Retry"),
    LatestRuns => ("Dernières exécutions", "Latest runs"),
    AllKinds => ("Tous les types", "All kinds"),
    RunStarted => ("Début", "Started"),
    Outcome => ("Résultat", "Outcome"),
    RunRunning => ("en cours", "running"),
    RunSucceeded => ("réussie", "succeeded"),
    RunFailed => ("échouée", "failed"),
    RunRetrying => ("échouée, nouvel essai prévu", "failed, will retry"),
    RunDead => ("abandonnée", "dead"),
    RunLeaseLost => ("interrompue (instance perdue)", "lease lost"),
    RunReleased => ("rendue à l'arrêt", "released"),
    SuperAdminsOnly => ("Réservé aux super administrateurs.", "Super admins only."),
    AnTitle => ("Analyse des conversations", "Conversation analysis"),
    AnFields => ("Champs d'analyse personnalisés", "Custom analysis fields"),
    AnFieldsHelp => ("Chaque champ est ajouté au schéma que le modèle remplit après chaque conversation, vérifié, puis affiché en colonne.", "Each field is added to the schema the model fills in after every conversation, checked, then shown as a column."),
    AnNoFields => ("Aucun champ personnalisé.", "No custom field."),
    AnTranscriptsOff => ("Cette salle ne conserve pas le texte des conversations : aucune analyse n'est faite.", "This gym keeps no conversation text: no analysis is made."),
    AnKind => ("Type", "Type"),
    AnValues => ("Valeurs (séparées par des virgules)", "Values (comma-separated)"),
    AnDescription => ("Description", "Description"),
    AnAddField => ("Ajouter le champ", "Add the field"),
    AnKindText => ("texte", "text"),
    AnKindNumber => ("nombre", "number"),
    AnKindBoolean => ("oui/non", "yes/no"),
    AnKindEnum => ("liste de valeurs", "list of values"),
    Analysis => ("Analyse", "Analysis"),
    AnSummary => ("Résumé", "Summary"),
    AnSentiment => ("Ton", "Sentiment"),
    AnSatisfaction => ("Satisfaction", "Satisfaction"),
    AnFollowUp => ("Suivi nécessaire", "Follow-up needed"),
    AnCancel => ("Intention de résilier", "Cancellation intent"),
    AnTopics => ("Sujets", "Topics"),
    AnFailed => ("Analyse échouée", "Analysis failed"),
    AnNone => ("Pas encore d'analyse.", "No analysis yet."),
    AnAttempts => ("Appels au modèle", "Model calls"),
    AnCost => ("Coût de l'analyse (inclus dans le total)", "Analysis cost (included in the total)"),
    AnYes => ("oui", "yes"),
    AnNo => ("non", "no"),
    AnPositive => ("positif", "positive"),
    AnNeutral => ("neutre", "neutral"),
    AnNegative => ("négatif", "negative"),
    AnMixed => ("mitigé", "mixed"),
    Simulations => ("Simulations", "Simulations"),
    SimHelp => ("Des membres simulés parlent à l'assistant de la salle (mêmes consignes, mêmes outils) par le texte ; un juge vérifie chaque attente. Les outils s'exécutent dans un bac à sable : aucun membre réel n'est modifié.", "Simulated members talk to the gym's assistant (same instructions, same tools) in text; a judge checks every expectation. Tools run in a sandbox: no real member is changed."),
    SimScenarios => ("Fichier de scénarios (JSON)", "Scenario file (JSON)"),
    SimRun => ("Lancer une simulation", "Run a simulation"),
    SimQueued => ("Simulation lancée : elle apparaîtra ci-dessous.", "Simulation queued: it will appear below."),
    SimSaved => ("Scénarios enregistrés.", "Scenarios saved."),
    SimRuns => ("Exécutions", "Runs"),
    SimNoRuns => ("Aucune exécution.", "No run yet."),
    SimPassed => ("réussi", "passed"),
    SimFailedWord => ("échoué", "failed"),
    SimRunning => ("en cours", "running"),
    SimErrorWord => ("erreur", "error"),
    SimScenario => ("Scénario", "Scenario"),
    SimScenarioCount => ("Scénarios réussis", "Scenarios passed"),
    SimCost => ("Coût (séparé des conversations des membres)", "Cost (apart from member conversations)"),
    SimExpectation => ("Attente", "Expectation"),
    SimMustMention => ("doit mentionner", "must mention"),
    SimMustNot => ("ne doit pas", "must not"),
    SimMustCallTool => ("doit appeler l'outil", "must call tool"),
    SimVerdict => ("Verdict", "Verdict"),

    // Knowledge base.
    Knowledge => ("Base de connaissances", "Knowledge base"),
    KnowledgeIntro => ("Ce que l'assistant sait de votre salle : il cherche ici (outil search_knowledge) et cite le titre de l'entrée.", "What the assistant knows about your gym: it searches here (search_knowledge tool) and cites the entry title."),
    KnowledgeEmpty => ("Aucune entrée pour l'instant. Ajoutez vos horaires, tarifs et règles, ou importez un fichier CSV ou Markdown.", "No entry yet. Add your opening hours, prices and rules, or import a CSV or Markdown file."),
    KnowledgeNoMatch => ("Aucune entrée ne correspond à cette recherche.", "No entry matches this search."),
    KnowledgeNew => ("Nouvelle entrée", "New entry"),
    KnowledgeEdit => ("Modifier l'entrée", "Edit entry"),
    KnowledgeTitle => ("Titre", "Title"),
    KnowledgeBody => ("Texte", "Text"),
    KnowledgeTags => ("Étiquettes (séparées par des virgules)", "Tags (comma-separated)"),
    KnowledgeChunks => ("Passages indexés", "Indexed passages"),
    KnowledgeUpdated => ("Modifiée le", "Updated"),
    KnowledgeDeleteConfirm => ("Supprimer cette entrée ? L'assistant ne la trouvera plus.", "Delete this entry? The assistant will no longer find it."),
    KnowledgeImport => ("Importer un fichier", "Import a file"),
    KnowledgeImportHelp => ("CSV avec l'en-tête title,body,tags,language, ou Markdown avec une entrée par titre « # ». Tout ou rien : une seule ligne en erreur et rien n'est écrit.", "CSV with the header title,body,tags,language, or Markdown with one entry per `# ` heading. All or nothing: one bad row and nothing is written."),
    KnowledgeFile => ("Fichier (CSV ou Markdown)", "File (CSV or Markdown)"),
    KnowledgeImportContent => ("Contenu du fichier", "File content"),
    KnowledgeImported => ("entrées importées.", "entries imported."),
    KnowledgeImportErrors => ("Rien n'a été importé. Erreurs par ligne :", "Nothing was imported. Errors by row:"),
    KnowledgeFormat => ("Format", "Format"),
    KnowledgeTry => ("Essayer une question", "Try a question"),
    KnowledgeTryIntro => ("Ce que l'assistant recevrait : les passages classés, avec le rang plein texte, le score vectoriel et le score fusionné.", "What the assistant would get: the ranked passages, with their full-text rank, vector score and fused score."),
    KnowledgeQuestion => ("Question", "Question"),
    KnowledgeFtsRank => ("Rang plein texte", "Full-text rank"),
    KnowledgeVectorScore => ("Score vectoriel", "Vector score"),
    KnowledgeFusedScore => ("Score fusionné", "Fused score"),
    KnowledgeNoHit => ("Aucun passage trouvé : l'assistant dirait qu'il ne sait pas.", "No passage found: the assistant would say it does not know."),
    KnowledgeVectorFailed => ("Le calcul d'embedding a échoué : résultats du plein texte seul.", "The embeddings call failed: full-text results only."),
    LangFr => ("français", "French"),
    LangEn => ("anglais", "English"),
    AdmTitle => ("Administration de la plateforme", "Platform administration"),
    AdmIntro => ("L'état de JARVIS sur toutes ses instances, et les pages d'administration.", "The state of JARVIS across all its instances, and the administration pages."),
    AdmHealth => ("État du système", "System health"),
    AdmAllGood => ("Tout va bien.", "All good."),
    AdmAttention => ("Un point demande votre attention (signalé ci-dessous).", "Something needs your attention (flagged below)."),
    AdmDatabase => ("Base de données", "Database"),
    AdmRoundTrip => ("aller-retour", "round trip"),
    AdmUnavailable => ("indisponible", "unavailable"),
    AdmMigrations => ("Migrations appliquées", "Migrations applied"),
    AdmInstances => ("Instances en vie", "Instances alive"),
    AdmNoInstance => ("Aucune instance n'a donné signe de vie depuis une minute.", "No instance reported in the last minute."),
    AdmHost => ("Hôte", "Host"),
    AdmVersion => ("Version", "Version"),
    AdmStarted => ("Démarrée", "Started"),
    AdmLastBeat => ("Dernier signe de vie", "Last heartbeat"),
    AdmQueue => ("File des tâches", "Job queue"),
    AdmDue => ("à exécuter", "due"),
    AdmScheduled => ("planifiées", "scheduled"),
    AdmRunning => ("en cours", "running"),
    AdmFailed => ("en échec", "failed"),
    AdmDead => ("abandonnées", "dead-lettered"),
    AdmOutbox => ("E-mails sortants", "Outgoing e-mail"),
    AdmWaiting => ("en attente", "waiting"),
    AdmDemo => ("Démo publique", "Public demo"),
    AdmDemoOn => ("active", "on"),
    AdmDemoOff => ("désactivée (demo_page)", "off (demo_page)"),
    AdmDemoMonth => ("Ce mois-ci", "This month"),
    AdmDemoCalls => ("conversations de démo", "demo conversations"),
    AdmDemoLimit => ("Limite", "Limit"),
    AdmDemoApart => ("Les conversations de la page /demo sont comptées à part : elles n'entrent ni dans les conversations des membres ni dans les statistiques des salles.", "Conversations on the /demo page are counted apart: they are in neither the members' conversations nor the gyms' statistics."),
    AdmKeys => ("Clés de signature des jetons", "Token-signing keys"),
    AdmKeysMax => ("Âge maximal configuré (key_max_age_days) :", "Configured maximum age (key_max_age_days):"),
    AdmKeyOverdue => ("trop ancienne : lancez jarvis keys rotate", "too old: run jarvis keys rotate"),
    AdmKeyId => ("Identifiant", "Key id"),
    AdmCreated => ("Créée", "Created"),
    AdmAge => ("Âge", "Age"),
    AdmDays => ("jours", "days"),
    AdmSigning => ("signe les jetons", "signing"),
    AdmRetired => ("retirée le", "retired on"),
    AdmPendingGyms => ("Salles en attente d'approbation", "Gyms waiting for approval"),
    AdmPages => ("Pages d'administration", "Administration pages"),
    AdmBackend => ("Moteur", "Engine"),
    AdmAuditLog => ("Journal d'audit", "Audit log"),
    AdmAuditIntro => ("Qui a fait quoi, et quand ; les plus récentes d'abord.", "Who did what, and when; newest first."),
    AdmAction => ("Action", "Action"),
    AdmActionHint => ("exacte, par ex. member.create", "exact, e.g. member.create"),
    AdmAllGyms => ("Toutes les salles", "All gyms"),
    AdmFilter => ("Filtrer", "Filter"),
    AdmClear => ("Effacer les filtres", "Clear filters"),
    AdmWhen => ("Quand", "When"),
    AdmWho => ("Qui", "Who"),
    AdmTarget => ("Cible", "Target"),
    AdmGym => ("Salle", "Gym"),
    AdmIp => ("Adresse IP", "IP address"),
    AdmNoAudit => ("Aucune entrée ne correspond.", "No entry matches."),
    AdmOnlyActor => ("Seulement les actions de", "Only the actions of"),
    AdmTheirActions => ("ses actions", "their actions"),
    AdmAllStatuses => ("Tous les statuts", "All statuses"),
    AdmNoGym => ("Aucune salle ne correspond.", "No gym matches."),
    NavUsage => ("Consommation", "Usage"),
    NavCosts => ("Coûts facturés", "Billed costs"),
    UsageTitle => ("Consommation et limites", "Usage and limits"),
    UsageIntro => ("Ce que chaque franchise et la plateforme consomment, comparé aux limites du forfait (mesuré toutes les heures). Une alerte part par e-mail à 80 % puis à 100 % d'une limite, une fois par mois.", "What each franchise and the platform use, against the plan limits (measured every hour). An e-mail alert goes out at 80 % and again at 100 % of a limit, once a month."),
    UsagePlatform => ("Plateforme", "Platform"),
    UsageFranchise => ("Franchise", "Franchise"),
    UsageMetricCol => ("Mesure", "Metric"),
    UsageUsed => ("Utilisé", "Used"),
    UsageLimitCol => ("Limite", "Limit"),
    UsageShare => ("Part de la limite", "Share of the limit"),
    UsageUnlimited => ("illimité", "unlimited"),
    UsageMeasuredAt => ("Mesuré le", "Measured at"),
    UsageNotMeasured => ("Pas encore mesuré : la mesure passe toutes les heures.", "Not measured yet: usage is measured every hour."),
    UsageAlerts => ("Alertes récentes", "Recent alerts"),
    UsageNoAlerts => ("Aucune alerte.", "No alert."),
    UsageThreshold => ("Seuil", "Threshold"),
    UsageMonth => ("Mois", "Month"),
    UsageOwnersOnly => ("Réservé aux propriétaires de franchise et aux super administrateurs.", "Franchise owners and super admins only."),
    MetricRows => ("Lignes en base", "Database rows"),
    MetricDbBytes => ("Taille de la base", "Database size"),
    MetricApiRequests => ("Requêtes API du mois", "API requests this month"),
    MetricStorage => ("Stockage de fichiers", "File storage"),
    MetricVoiceMinutes => ("Minutes de voix du mois", "Voice minutes this month"),
    MetricAiCost => ("Coût IA du mois", "AI cost this month"),
    CostsTitle => ("Coûts facturés et mesurés", "Billed and metered costs"),
    CostsIntro => ("Par jour (UTC) : le coût mesuré par JARVIS pour toutes les salles et le montant facturé par OpenAI (lu chaque jour avec la clé d'administration). Un appel coupé par une connexion perdue est facturé sans être mesuré : le coût mesuré est un minimum.", "Per UTC day: the cost JARVIS metered for every gym and the amount OpenAI billed (read daily with the admin key). A call cut by a dropped connection is billed but never metered: the metered cost is a lower bound."),
    CostsNoKey => ("Aucune clé d'administration OpenAI n'est configurée (openai_admin_key) : seuls les coûts mesurés sont connus.", "No OpenAI admin key is configured (openai_admin_key): only the metered costs are known."),
    CostsMargin => ("Marge d'alerte", "Alert margin"),
    CostsDay => ("Jour", "Day"),
    CostsMetered => ("Mesuré", "Metered"),
    CostsBilled => ("Facturé", "Billed"),
    CostsDifference => ("Écart", "Difference"),
    CostsNotRead => ("non lu", "not read"),
    CostsOverMargin => ("au-delà de la marge", "over the margin"),
    CostsWithinMargin => ("dans la marge", "within the margin"),
    CostsAlerted => ("alerte envoyée", "alert sent"),
    NavVitals => ("Signaux Web essentiels", "Web Vitals"),
    VitalsIntro => ("Le 75e centile (rang le plus proche) de chaque mesure envoyée par les navigateurs, par jour (UTC), page et mesure. Temps en millisecondes ; CLS sans unité.", "The 75th percentile (nearest rank) of what browsers reported, per day (UTC), page and metric. Times in milliseconds; CLS has no unit."),
    VitalsNone => ("Aucune mesure sur la période.", "No measurement in this period."),
    VitalsPage => ("Page", "Page"),
    VitalsMetric => ("Mesure", "Metric"),
    VitalsSamples => ("Échantillons", "Samples"),
    Day => ("Jour", "Day"),
    DaysShort => ("j", "d"),
    OverviewPeriod => ("Période", "Period"),
    PeriodToday => ("Aujourd'hui", "Today"),
    PeriodWeek => ("7 jours", "7 days"),
    PeriodMonth => ("30 jours", "30 days"),
    OverviewDays => ("Jours UTC du", "UTC days from"),
    OverviewTo => ("au", "to"),
    TileConversations => ("Conversations", "Conversations"),
    TileMembersTalked => ("Membres ayant parlé", "Members who talked"),
    TileAvgDuration => ("Durée moyenne", "Average duration"),
    TileSatisfaction => ("Satisfaction moyenne (1 à 5)", "Average satisfaction (1 to 5)"),
    TileSentiment => ("Sentiment moyen (−1 à 1)", "Average sentiment (−1 to 1)"),
    TileTopics => ("Sujets principaux", "Top topics"),
    TileFollowUps => ("Suivis en attente", "Follow-ups waiting"),
    TileChurnHigh => ("Membres à risque élevé de départ", "Members at high churn risk"),
    TileCost => ("Coût IA du mois", "AI cost this month"),
    TileProjection => ("projection fin de mois", "projected to month end"),
    TileOfBudget => ("sur un budget de", "of a budget of"),
    TileKiosks => ("Bornes en ligne / hors ligne", "Kiosks online / offline"),
    TileLatency => ("Latence entendue p50 / p95 (ms)", "Heard latency p50 / p95 (ms)"),
    ChartConversations => ("Conversations par jour", "Conversations per day"),
    ChartSentiment => ("Sentiment moyen par jour analysé (0 à 100, 50 = neutre)", "Average sentiment per analysed day (0 to 100, 50 = neutral)"),
    SentimentIndex => ("Indice de sentiment", "Sentiment index"),
    ChartTopics => ("Conversations par sujet", "Conversations by topic"),
    Topic => ("Sujet", "Topic"),
    FranchiseOverview => ("Vue d'ensemble du réseau", "Franchise overview"),
    NoTopics => ("Aucun sujet analysé sur la période.", "No analysed topic in this period."),
    KioskOutages => ("Coupures des bornes", "Kiosk outages"),
    KioskOutagesIntro => ("Une borne muette plus longtemps que le seuil configuré est signalée une fois par e-mail aux responsables de la salle, puis une fois à son retour.", "A kiosk silent for longer than the configured threshold is reported once by e-mail to the gym's managers, and once more when it is back."),
    OutageKiosk => ("Borne", "Kiosk"),
    OutageStarted => ("Hors ligne depuis", "Offline since"),
    OutageEnded => ("De nouveau en ligne", "Back online"),
    OutageOngoing => ("en cours", "ongoing"),
    OutageAlerted => ("Responsables prévenus", "Managers alerted"),
    NoOutages => ("Aucune coupure.", "No outages."),
    NavErrors => ("Journal des erreurs", "Error log"),
    ErrorsIntro => ("Les erreurs serveur, pannes de tâches de fond, paniques et indisponibilités de la base, regroupées par empreinte (type, origine, message sans données personnelles). Les erreurs critiques sont envoyées par e-mail aux super administrateurs une fois par période de regroupement.", "Server errors, background job failures, panics and database outages, grouped by fingerprint (kind, source, message without personal data). Critical errors are e-mailed to the super admins once per grouping period."),
    ErrorLevelCol => ("Niveau", "Level"),
    ErrorKindCol => ("Type", "Kind"),
    ErrorSourceCol => ("Origine", "Source"),
    ErrorMessageCol => ("Message", "Message"),
    ErrorCount => ("Occurrences", "Occurrences"),
    ErrorFirstSeen => ("Première fois", "First seen"),
    ErrorLastSeen => ("Dernière fois", "Last seen"),
    ErrorAlerted => ("Alerte envoyée", "Alert sent"),
    ErrorAllLevels => ("Tous les niveaux", "All levels"),
    ErrorFilter => ("Filtrer", "Filter"),
    LevelWarning => ("avertissement", "warning"),
    LevelError => ("erreur", "error"),
    LevelCritical => ("critique", "critical"),
    ErrKindHttp => ("requête HTTP", "HTTP request"),
    ErrKindJob => ("tâche de fond", "background job"),
    ErrKindPanic => ("panique", "panic"),
    ErrKindDatabase => ("base de données", "database"),
    DemoPageTitle => ("Parlez à JARVIS", "Talk to JARVIS"),
    DemoPageIntro => ("JARVIS est l'assistant vocal des salles de sport. Essayez-le ici, sans badge : posez une question sur les cours, les horaires ou votre entraînement.", "JARVIS is the voice assistant of gyms. Try it here, without a badge: ask about classes, opening hours or your training."),
    DemoPageTalk => ("Parler à JARVIS", "Talk to JARVIS"),
    DemoPageEnd => ("Raccrocher", "Hang up"),
    DemoPageConnecting => ("Connexion…", "Connecting…"),
    DemoPageListening => ("JARVIS vous écoute.", "JARVIS is listening."),
    DemoPageEnded => ("Conversation terminée.", "Conversation ended."),
    DemoPageLimitsCalls => ("conversations par heure et par adresse", "conversations per hour per address"),
    DemoPageLimitsSecs => ("secondes au plus par conversation", "seconds at most per conversation"),
    DemoPagePrivacy => ("Votre micro est utilisé pendant la conversation seulement. Rien de ce que vous dites n'est conservé.", "Your microphone is used during the conversation only. Nothing you say is kept."),
    DemoPageErrRate => ("Vous avez atteint la limite de conversations de démo pour cette heure. Réessayez plus tard.", "You have reached the demo conversation limit for this hour. Please try again later."),
    DemoPageErrBudget => ("Le budget de démonstration du mois est épuisé. Revenez le mois prochain.", "This month's demo budget is spent. Please come back next month."),
    DemoPageErrBusy => ("Toutes les lignes sont occupées. Réessayez dans un instant.", "Every line is busy. Try again in a moment."),
    DemoPageErrMic => ("Micro indisponible : autorisez l'accès au micro dans le navigateur.", "Microphone unavailable: allow microphone access in the browser."),
    DemoPageErrOther => ("La démo est indisponible pour le moment. Réessayez plus tard.", "The demo is unavailable right now. Please try again later."),
}

/// A message by value or by reference (templates hand loop bindings over by reference).
pub trait AsMsg {
    /// The message.
    fn msg(&self) -> Msg;
}

impl AsMsg for Msg {
    fn msg(&self) -> Msg {
        *self
    }
}

impl<T: AsMsg + ?Sized> AsMsg for &T {
    fn msg(&self) -> Msg {
        (**self).msg()
    }
}

impl Tr {
    /// The text of `m` in this language.
    pub fn get(&self, m: impl AsMsg) -> &'static str {
        let (fr, en) = m.msg().texts();
        self.pick(fr, en)
    }
    /// `fr` or `en`.
    pub fn lang(&self) -> &'static str {
        self.0.as_str()
    }
    /// Whether the page is French.
    pub fn is_fr(&self) -> bool {
        self.0 == Locale::Fr
    }
    /// A pager's total with thousands separators, "+" when it is a lower bound (the list
    /// stopped counting): "10,000+" / "10 000+".
    pub fn total(&self, n: &u64, capped: &bool) -> String {
        let n = crate::web::format::Fmt::new(self.0, None).int(n);
        if *capped { format!("{n}+") } else { n }
    }
}

impl Tr {
    fn pick(&self, fr: &'static str, en: &'static str) -> &'static str {
        match self.0 {
            Locale::Fr => fr,
            Locale::En => en,
        }
    }

    /// A membership status.
    pub fn membership(&self, s: &MembershipStatus) -> &'static str {
        match s {
            MembershipStatus::Active => self.pick("actif", "active"),
            MembershipStatus::Frozen => self.pick("gelé", "frozen"),
            MembershipStatus::Expired => self.pick("expiré", "expired"),
            MembershipStatus::Cancelled => self.pick("résilié", "cancelled"),
        }
    }

    /// A membership status given by its storage name (select boxes).
    pub fn membership_str(&self, s: &str) -> &'static str {
        MembershipStatus::parse(s).map_or("?", |s| self.membership(&s))
    }

    /// A member-profile field a custom tool may receive.
    pub fn member_field(&self, f: &MemberField) -> &'static str {
        match f {
            MemberField::MemberId => self.pick("identifiant du membre", "member id"),
            MemberField::BadgeId => self.pick("badge", "badge"),
            MemberField::FirstName => self.pick("prénom", "first name"),
            MemberField::LastName => self.pick("nom", "last name"),
            MemberField::Email => self.pick("e-mail", "e-mail"),
            MemberField::Phone => self.pick("téléphone", "phone"),
            MemberField::PreferredLanguage => self.pick("langue", "language"),
            MemberField::MembershipType => self.pick("type d'abonnement", "membership type"),
            MemberField::MembershipStatus => {
                self.pick("statut de l'abonnement", "membership status")
            }
        }
    }

    /// A language's name (knowledge entries).
    pub fn locale_name(&self, l: &Locale) -> &'static str {
        match l {
            Locale::Fr => self.get(Msg::LangFr),
            Locale::En => self.get(Msg::LangEn),
        }
    }

    /// A churn risk level.
    pub fn churn_level(&self, l: &jarvis_core::churn::ChurnLevel) -> &'static str {
        use jarvis_core::churn::ChurnLevel;
        match l {
            ChurnLevel::Low => self.pick("faible", "low"),
            ChurnLevel::Medium => self.pick("moyen", "medium"),
            ChurnLevel::High => self.pick("élevé", "high"),
        }
    }

    /// A churn factor's name.
    pub fn churn_factor(&self, f: &jarvis_core::churn::ChurnFactorName) -> &'static str {
        use jarvis_core::churn::ChurnFactorName as F;
        match f {
            F::VisitTrend => self.pick(
                "Visites (30 derniers jours par rapport aux 30 précédents)",
                "Visits (last 30 days against the 30 before)",
            ),
            F::DaysSinceLastVisit => self.pick("Dernière visite", "Last visit"),
            F::MembershipEnd => self.pick("Fin d'abonnement", "Membership end"),
            F::Sentiment => self.pick(
                "Ton des conversations (90 jours, de −1 à 1)",
                "Conversation tone (90 days, −1 to 1)",
            ),
            F::CancellationIntent => self.pick(
                "Intention de résilier (conversations des 90 jours)",
                "Intent to cancel (conversations of 90 days)",
            ),
        }
    }

    /// A churn factor's measured value, with its unit.
    pub fn churn_value(&self, f: &jarvis_core::churn::ChurnFactor) -> String {
        use jarvis_core::churn::ChurnFactorName as F;
        let Some(v) = f.value else {
            return match f.name {
                F::DaysSinceLastVisit => self.pick("jamais venu", "never visited"),
                F::MembershipEnd => self.pick("sans date de fin", "no end date"),
                _ => self.pick("aucune conversation analysée", "no analysed conversation"),
            }
            .to_string();
        };
        let n = v.round() as i64;
        match (f.name, self.0) {
            (F::VisitTrend, Locale::Fr) => format!("{n:+} visite(s)"),
            (F::VisitTrend, Locale::En) => format!("{n:+} visit(s)"),
            (F::DaysSinceLastVisit, Locale::Fr) => format!("il y a {n} jour(s)"),
            (F::DaysSinceLastVisit, Locale::En) => format!("{n} day(s) ago"),
            (F::MembershipEnd, Locale::Fr) if n < 0 => format!("terminé depuis {} jour(s)", -n),
            (F::MembershipEnd, Locale::En) if n < 0 => format!("ended {} day(s) ago", -n),
            (F::MembershipEnd, Locale::Fr) => format!("dans {n} jour(s)"),
            (F::MembershipEnd, Locale::En) => format!("in {n} day(s)"),
            (F::Sentiment, _) => format!("{v:+.2}"),
            (F::CancellationIntent, Locale::Fr) => format!("{n} conversation(s)"),
            (F::CancellationIntent, Locale::En) => format!("{n} conversation(s)"),
        }
    }

    /// A lead's follow-up status.
    pub fn lead_status(&self, s: &LeadStatus) -> &'static str {
        match s {
            LeadStatus::New => self.pick("nouveau", "new"),
            LeadStatus::Contacted => self.pick("contacté", "contacted"),
            LeadStatus::Converted => self.pick("converti", "converted"),
        }
    }

    /// A gym status.
    pub fn gym_status(&self, s: &GymStatus) -> &'static str {
        match s {
            GymStatus::Pending => self.pick("en attente", "pending"),
            GymStatus::Active => self.pick("active", "active"),
            GymStatus::Rejected => self.pick("refusée", "rejected"),
            GymStatus::Suspended => self.pick("suspendue", "suspended"),
            GymStatus::Archived => self.pick("archivée", "archived"),
        }
    }

    /// An import job status.
    pub fn import_status(&self, s: &ImportStatus) -> &'static str {
        match s {
            ImportStatus::Queued => self.pick("en attente", "queued"),
            ImportStatus::Running => self.pick("en cours", "running"),
            ImportStatus::Succeeded => self.pick("terminé", "succeeded"),
            ImportStatus::Failed => self.pick("échoué", "failed"),
        }
    }

    /// An import job status given by its storage name (the job page's live labels).
    pub fn import_status_str(&self, s: &str) -> &'static str {
        ImportStatus::parse(s).map_or("?", |s| self.import_status(&s))
    }

    /// A role (the same words the account e-mails use).
    pub fn role(&self, r: &jarvis_core::Role) -> &'static str {
        jarvis_app::accounts::email::role_name(r, self.0)
    }

    /// A kiosk presence.
    pub fn presence(&self, p: &KioskPresence) -> &'static str {
        self.get(match p {
            KioskPresence::Online => Msg::Online,
            KioskPresence::Offline => Msg::Offline,
            KioskPresence::Revoked => Msg::Revoked,
            KioskPresence::Unpaired => Msg::Unpaired,
        })
    }

    /// A weekday, short.
    pub fn weekday(&self, d: &Weekday) -> &'static str {
        match d {
            Weekday::Mon => self.pick("lun.", "Mon"),
            Weekday::Tue => self.pick("mar.", "Tue"),
            Weekday::Wed => self.pick("mer.", "Wed"),
            Weekday::Thu => self.pick("jeu.", "Thu"),
            Weekday::Fri => self.pick("ven.", "Fri"),
            Weekday::Sat => self.pick("sam.", "Sat"),
            Weekday::Sun => self.pick("dim.", "Sun"),
        }
    }

    /// A weekday given by its storage name (select boxes).
    pub fn weekday_str(&self, d: &str) -> &'static str {
        Weekday::parse(d).map_or("?", |d| self.weekday(&d))
    }

    /// The assistant's tone.
    pub fn tone(&self, key: &str) -> &'static str {
        match key {
            "friendly" => self.pick("chaleureux", "friendly"),
            "motivating" => self.pick("motivant", "motivating"),
            "calm" => self.pick("calme", "calm"),
            "professional" => self.pick("professionnel", "professional"),
            _ => "?",
        }
    }

    /// Why a voice session ended.
    /// A custom analysis field's type.
    pub fn analysis_kind(&self, k: &AnalysisFieldKind) -> &'static str {
        self.get(match k {
            AnalysisFieldKind::Text => Msg::AnKindText,
            AnalysisFieldKind::Number => Msg::AnKindNumber,
            AnalysisFieldKind::Boolean => Msg::AnKindBoolean,
            AnalysisFieldKind::Enum => Msg::AnKindEnum,
        })
    }

    /// A conversation's tone.
    pub fn sentiment(&self, s: &Sentiment) -> &'static str {
        self.get(match s {
            Sentiment::Positive => Msg::AnPositive,
            Sentiment::Neutral => Msg::AnNeutral,
            Sentiment::Negative => Msg::AnNegative,
            Sentiment::Mixed => Msg::AnMixed,
        })
    }

    /// An error-log level.
    pub fn error_level(&self, l: &jarvis_store::ErrorLevel) -> &'static str {
        self.get(match l {
            jarvis_store::ErrorLevel::Warning => Msg::LevelWarning,
            jarvis_store::ErrorLevel::Error => Msg::LevelError,
            jarvis_store::ErrorLevel::Critical => Msg::LevelCritical,
        })
    }

    /// An error-log kind (stored as `http`, `job`, `panic`, `database`).
    pub fn error_kind(&self, k: &str) -> &'static str {
        match k {
            "http" => self.get(Msg::ErrKindHttp),
            "job" => self.get(Msg::ErrKindJob),
            "panic" => self.get(Msg::ErrKindPanic),
            "database" => self.get(Msg::ErrKindDatabase),
            _ => "?",
        }
    }

    /// Yes or no.
    pub fn yes_no(&self, b: &bool) -> &'static str {
        self.get(if *b { Msg::AnYes } else { Msg::AnNo })
    }

    /// A simulation run's status.
    pub fn simulation_status(&self, s: &SimulationStatus) -> &'static str {
        self.get(match s {
            SimulationStatus::Running => Msg::SimRunning,
            SimulationStatus::Passed => Msg::SimPassed,
            SimulationStatus::Failed => Msg::SimFailedWord,
            SimulationStatus::Error => Msg::SimErrorWord,
        })
    }

    /// What an expectation asks.
    pub fn check_kind(&self, k: &CheckKind) -> &'static str {
        self.get(match k {
            CheckKind::MustMention => Msg::SimMustMention,
            CheckKind::MustNot => Msg::SimMustNot,
            CheckKind::MustCallTool => Msg::SimMustCallTool,
        })
    }

    pub fn end_reason(&self, r: &EndReason) -> &'static str {
        match r {
            EndReason::MemberEnded => self.pick("terminée par le membre", "ended by the member"),
            EndReason::AssistantEnded => {
                self.pick("terminée par l'assistant", "ended by the assistant")
            }
            EndReason::StaffEnded => self.pick("raccrochée par l'équipe", "hung up by staff"),
            EndReason::Idle => self.pick("silence prolongé", "idle"),
            EndReason::MaxDuration => self.pick("durée maximale atteinte", "maximum duration"),
            EndReason::BudgetExhausted => self.pick("budget épuisé", "budget exhausted"),
            EndReason::ProviderError => self.pick("erreur du fournisseur", "provider error"),
            EndReason::SidebandLost => self.pick("liaison serveur perdue", "sideband lost"),
            EndReason::LeaseLost => self.pick("bail perdu", "lease lost"),
            EndReason::Shutdown => self.pick("arrêt du serveur", "server shutdown"),
            EndReason::Reaped => self.pick("instance disparue (récupérée)", "reaped"),
            EndReason::StartFailed => self.pick("démarrage échoué", "start failed"),
        }
    }

    /// An end reason given by its storage name (select boxes).
    pub fn end_reason_str(&self, r: &str) -> &'static str {
        EndReason::parse(r).map_or("?", |r| self.end_reason(&r))
    }

    /// A voice session's status.
    pub fn session_status(&self, s: &SessionStatus) -> &'static str {
        match s {
            SessionStatus::Starting => self.pick("démarrage", "starting"),
            SessionStatus::Active => self.pick("en cours", "active"),
            SessionStatus::Ended => self.pick("terminée", "ended"),
        }
    }

    /// Who spoke in a turn.
    pub fn turn_role(&self, r: &TurnRole) -> &'static str {
        match r {
            TurnRole::Member => self.get(Msg::Member),
            TurnRole::Assistant => self.pick("Assistant", "Assistant"),
        }
    }

    /// A budget alert as one sentence.
    pub fn budget_alert(&self, a: &jarvis_store::BudgetAlert) -> String {
        let f = crate::web::format::Fmt::new(self.0, None);
        let spent = f.usd_cents(&jarvis_core::cost::pico_to_micro(a.spent_pico));
        let budget = f.usd_cents(&a.budget_micros);
        let platform = matches!(a.scope, jarvis_store::BudgetScope::Platform);
        match (self.0, a.threshold, platform) {
            (Locale::Fr, jarvis_core::cost::BudgetThreshold::Warn80, false) => {
                format!(
                    "{} : 80 % du budget IA de la salle atteint ({spent} sur {budget}).",
                    a.period
                )
            }
            (Locale::Fr, jarvis_core::cost::BudgetThreshold::Exhausted, false) => {
                format!(
                    "{} : budget IA de la salle épuisé ({spent} sur {budget}).",
                    a.period
                )
            }
            (Locale::Fr, jarvis_core::cost::BudgetThreshold::Warn80, true) => {
                format!(
                    "{} : 80 % du budget IA de la plateforme atteint ({spent} sur {budget}).",
                    a.period
                )
            }
            (Locale::Fr, jarvis_core::cost::BudgetThreshold::Exhausted, true) => {
                format!(
                    "{} : budget IA de la plateforme épuisé ({spent} sur {budget}).",
                    a.period
                )
            }
            (Locale::En, jarvis_core::cost::BudgetThreshold::Warn80, false) => {
                format!(
                    "{}: 80% of the gym's AI budget reached ({spent} of {budget}).",
                    a.period
                )
            }
            (Locale::En, jarvis_core::cost::BudgetThreshold::Exhausted, false) => {
                format!(
                    "{}: the gym's AI budget is spent ({spent} of {budget}).",
                    a.period
                )
            }
            (Locale::En, jarvis_core::cost::BudgetThreshold::Warn80, true) => {
                format!(
                    "{}: 80% of the platform's AI budget reached ({spent} of {budget}).",
                    a.period
                )
            }
            (Locale::En, jarvis_core::cost::BudgetThreshold::Exhausted, true) => {
                format!(
                    "{}: the platform's AI budget is spent ({spent} of {budget}).",
                    a.period
                )
            }
        }
    }

    /// Who wrote a member fact.
    pub fn source(&self, s: &FactSource) -> &'static str {
        match s {
            FactSource::Staff => self.pick("équipe", "staff"),
            FactSource::Assistant => self.pick("assistant", "assistant"),
            FactSource::Import => self.pick("import", "import"),
        }
    }
}

/// The numbers in an English message, in order ("must be between 1 and 50" → 1, 50).
fn numbers(message: &str) -> Vec<&str> {
    message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .collect()
}

/// A CSV row error in the page's language, by its stable code; reports stored before codes
/// existed keep their English reason.
pub fn row_error(t: &Tr, e: &jarvis_core::csv_import::RowError) -> String {
    if t.0 == Locale::En {
        return e.reason.clone();
    }
    let n = numbers(&e.reason);
    match e.code.as_str() {
        "unreadable_row" => "ligne illisible (guillemets non fermés ?)".into(),
        "field_count" => match (n.first(), n.get(1)) {
            (Some(got), Some(want)) => format!(
                "la ligne a {got} champs mais l'en-tête en a {want} (mauvais séparateur ou valeur sans guillemets ?)"
            ),
            _ => "nombre de champs différent de l'en-tête (mauvais séparateur ?)".into(),
        },
        "duplicate_badge" => match n.first() {
            Some(first) => format!("badge en double : déjà utilisé ligne {first}"),
            None => "badge en double dans le fichier".into(),
        },
        "badge_taken" => "badge déjà utilisé par un membre de cette salle".into(),
        "not_a_date" => "pas une date (AAAA-MM-JJ ou JJ/MM/AAAA)".into(),
        "bad_language" => "la langue doit être fr ou en".into(),
        "bad_status" => {
            "le statut doit être active, frozen, expired ou cancelled (actif, gelé, expiré, résilié)"
                .into()
        }
        "bad_boolean" => "oui ou non attendu (oui/non, yes/no, true/false, 1/0)".into(),
        "orphan_text" => "du texte avant le premier titre « # » n'appartient à aucune entrée".into(),
        "" => e.reason.clone(),
        code => field_message(
            *t,
            &FieldError {
                field: e.field.clone(),
                code: code.to_string(),
                message: e.reason.clone(),
            },
        ),
    }
}

/// A validation error in the page's language, by its stable code (and field where the code
/// alone does not say enough).
pub fn field_message(t: Tr, e: &FieldError) -> String {
    if t.0 == Locale::En {
        return e.message.clone();
    }
    let field = e.field.trim_start_matches("settings.");
    let hours = field.starts_with("opening_hours");
    let n = numbers(&e.message);
    let fr: String = match e.code.as_str() {
        "required" => match field {
            "weekday" => "un cours hebdomadaire a besoin d'un jour".into(),
            "date" => "un cours ponctuel a besoin d'une date".into(),
            _ => "obligatoire".into(),
        },
        "too_long" => match n.first() {
            Some(max) => format!("{max} caractères au plus"),
            None => "trop long".into(),
        },
        "too_large" => "trop volumineux".into(),
        "unknown_timezone" => {
            "fuseau horaire inconnu ; utilisez un nom IANA, comme Europe/Paris ou UTC".into()
        }
        "invalid_characters" => "ne doit pas contenir de caractères de contrôle".into(),
        "invalid_format" => match field {
            "email" => "doit être une adresse e-mail comme nom@exemple.fr".into(),
            "phone" => "doit être un numéro de téléphone comme +33 6 12 34 56 78".into(),
            "badge_id" => "lettres, chiffres, « - », « _ » et « : » uniquement".into(),
            "membership_type" => "lettres, chiffres, « - » et « _ » uniquement".into(),
            "timezone" => "doit être un fuseau horaire IANA, comme Europe/Paris ou UTC".into(),
            "start_time" => "format HH:MM, entre 00:00 et 23:59".into(),
            "from" | "to" | "effective_from" => "une date au format AAAA-MM-JJ".into(),
            "monthly_budget_micros" => "un montant en dollars comme 1000 ou 12.50".into(),
            "reason" => "motif de fin inconnu".into(),
            "name" => "3 à 64 caractères a-z, 0-9 et _, en commençant par une lettre".into(),
            "url" => "doit être une URL https:// sans identifiants ni fragment (#)".into(),
            _ if field.starts_with("price.") => {
                "un montant en dollars comme 0.60 (6 décimales au plus)".into()
            }
            _ if hours => "heures au format HH:MM (00:00-24:00)".into(),
            _ => "format invalide".into(),
        },
        "too_many" => match (field, n.first()) {
            (f, Some(max)) if f.starts_with("goals") => format!("{max} objectifs au plus"),
            (_, Some(max)) if hours => format!("{max} créneaux par jour au plus"),
            ("name", Some(max)) => format!("{max} outils au plus par salle"),
            _ => "trop d'éléments".into(),
        },
        "out_of_range" => match field {
            "birth_date" => "doit être entre le 01/01/1900 et aujourd'hui".into(),
            "monthly_ai_budget_micros" => "doit être entre 0 et 1 000 000 $".into(),
            "monthly_budget_micros" => "doit être entre 0 et 1 000 000 $".into(),
            _ if field.starts_with("price.") => "prix trop élevé".into(),
            "uptime_secs" => "ne doit pas être négatif".into(),
            _ if hours => "la fermeture doit suivre l'ouverture".into(),
            _ => match n.as_slice() {
                [lo, hi, ..] => format!("doit être entre {lo} et {hi}"),
                _ => "hors limites".into(),
            },
        },
        "reserved" => match field {
            "name" => "ce nom est celui d'un outil intégré".into(),
            _ => "l'argument « member » est réservé aux données du membre ajoutées par JARVIS".into(),
        },
        "invalid_schema" => "schéma JSON invalide ou hors du sous-ensemble pris en charge (type, properties, required, additionalProperties, enum, minLength, maxLength, minimum, maximum, maxItems, items, description)".into(),
        "not_allowed" => "doit commencer par https:// (http seulement vers un hôte autorisé par l'opérateur)".into(),
        "unpriced" => "aucun prix en vigueur pour ce modèle : ajoutez d'abord son prix".into(),
        "invalid_length" => match n.last() {
            Some(max) => format!("1 à {max} caractères"),
            None => "longueur invalide".into(),
        },
        "invalid_row" => "ligne illisible, ou texte hors d'une section « # titre »".into(),
        "invalid_file" => {
            "fichier illisible : UTF-8, avec l'en-tête title,body (tags et language facultatifs)"
                .into()
        }
        "empty" => "le fichier ne contient aucune entrée".into(),
        "invalid_value" if field.ends_with("language") => "doit être fr ou en".into(),
        "forbidden" => {
            "seul le propriétaire de la franchise ou un super administrateur peut le modifier"
                .into()
        }
        _ => "valeur invalide".into(),
    };
    fr
}

/// A storage refusal shown on a form, in the page's language: the form field it belongs to and
/// the message. Conflicts are translated by constraint, rule breaks by field.
pub fn store_message(t: Tr, e: &StoreError) -> (String, String) {
    let (field, english) = match e {
        StoreError::Conflict { field, message, .. } | StoreError::Invalid { field, message } => {
            (field.to_string(), message.clone())
        }
        other => ("".to_string(), other.to_string()),
    };
    if t.0 == Locale::En {
        return (field, english);
    }
    let fr = match e {
        StoreError::Conflict { constraint, .. } => match *constraint {
            "members_gym_badge_key" => {
                // The English message names the badge between backticks.
                match english.split('`').nth(1) {
                    Some(b) => format!("le badge « {b} » est déjà utilisé par un autre membre de cette salle"),
                    None => "ce badge est déjà utilisé par un autre membre de cette salle".into(),
                }
            }
            "kiosks_gym_name_key" => "cette salle a déjà une borne de ce nom".into(),
            "http_tools_gym_name_key" => "cette salle a déjà un outil de ce nom".into(),
            "gyms_franchise_name_key" => "cette franchise a déjà une salle de ce nom".into(),
            "gyms_status_changed" => {
                "le statut de la salle a changé entre-temps ; rechargez la page et décidez à nouveau"
                    .into()
            }
            _ => "cette valeur est déjà utilisée".into(),
        },
        StoreError::Invalid { field, .. } => match *field {
            "reason" if english.contains("required") => {
                "un motif est obligatoire pour refuser ou suspendre une salle".into()
            }
            "reason" => "500 caractères au plus".into(),
            "status" => "ce changement de statut n'est pas possible".into(),
            "gym_id" => "une borne ne peut rejoindre qu'une salle de sa franchise".into(),
            _ => "valeur refusée".into(),
        },
        StoreError::NotFound(_) => "introuvable".into(),
        _ => "l'opération a échoué ; réessayez".into(),
    };
    (field, fr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jarvis_core::csv_import::RowError;

    #[test]
    fn csv_row_errors_are_french_on_french_pages() {
        let fr = Tr(Locale::Fr);
        let en = Tr(Locale::En);
        let dup = RowError::new(
            4,
            "Badge",
            "duplicate_badge",
            "duplicate badge: already used on line 2",
        );
        assert_eq!(
            row_error(&fr, &dup),
            "badge en double : déjà utilisé ligne 2"
        );
        assert_eq!(row_error(&en, &dup), dup.reason);
        let count = RowError::new(
            7,
            "",
            "field_count",
            "row has 3 fields but the header has 11 (wrong delimiter or unquoted `;`?)",
        );
        assert!(row_error(&fr, &count).starts_with("la ligne a 3 champs mais l'en-tête en a 11"));
        // A member validation error goes through the field messages.
        let mut email = RowError::new(6, "E-mail", "invalid_format", "must be an e-mail address");
        email.field = "email".into();
        assert_eq!(
            row_error(&fr, &email),
            "doit être une adresse e-mail comme nom@exemple.fr"
        );
        // A report stored before codes existed keeps its reason.
        let old = RowError::new(3, "x", "", "not a date");
        assert_eq!(row_error(&fr, &old), "not a date");
    }

    #[test]
    fn french_messages_follow_the_code() {
        let fr = Tr(Locale::Fr);
        let m = |field: &str, code: &str, msg: &str| {
            field_message(fr, &FieldError::new(field, code, msg))
        };
        assert_eq!(
            m("first_name", "too_long", "must be at most 80 characters"),
            "80 caractères au plus"
        );
        assert_eq!(
            m(
                "settings.voice_session_cap",
                "out_of_range",
                "must be between 1 and 50"
            ),
            "doit être entre 1 et 50"
        );
        assert_eq!(
            m(
                "settings.opening_hours.mon[0]",
                "out_of_range",
                "must close after it opens"
            ),
            "la fermeture doit suivre l'ouverture"
        );
        assert!(m("email", "invalid_format", "x").contains("adresse e-mail"));
        let en = Tr(Locale::En);
        assert_eq!(
            field_message(en, &FieldError::new("x", "required", "must not be empty")),
            "must not be empty"
        );
    }
}
