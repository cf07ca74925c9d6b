// flags.jsx — the Flags view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Flags">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
