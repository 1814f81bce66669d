; Inno Setup 6 script: installs the PyInstaller one-folder build for the current user.
; Build first (on Windows):  pyinstaller --noconfirm packaging\trustpager.spec
; Then, from the repository root:  iscc packaging\windows\trustpager.iss
; Output: dist\installer\TrustPagerDesktop-<version>-setup.exe

#define AppName "TrustPager Desktop"
#define AppVersion "0.1.0"
#define AppPublisher "TrustPager"
#define AppExe "trustpager-desktop.exe"

[Setup]
; A fixed AppId keeps upgrades in place; never change it.
AppId={{6B1E2F0C-6C59-4F0B-9C8E-3A7D52E0B6A1}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher={#AppPublisher}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
; Per-user install: no administrator rights needed on an office PC.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist\installer
OutputBaseFilename=TrustPagerDesktop-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\trustpager.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; Close a running copy before files are replaced.
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "autostart"; Description: "Start TrustPager when I sign in (keeps the inbox and automations running in the tray)"; GroupDescription: "Background:"; Flags: unchecked

[Files]
Source: "..\..\dist\trustpager-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon
Name: "{userstartup}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: autostart

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The database, settings and logs live in the user's AppData folders and the Twilio
; token in Windows Credential Manager: uninstalling keeps them on purpose.
